"""A training as plain data: the description a backend receives, what it reports, what it returns.

perform() is the one function every backend runs (in a thread of the server, in a worker
process, on a cluster): a Training in, an Outcome out, progress through a callback. It
writes nothing: only the process that owns the run store writes it.
"""

import threading
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Union

from nnapps.data import Dataset, DatasetUnavailable
from nnapps.gpt.train import EvalPoint
from nnapps.models import CLASSIFIER, LANGUAGE_MODEL
from nnapps.store.runs import EVERYONE, Run, RunConfig
from nnapps.training.loop import EpochStats

# What a training reports while it runs: a message ("loading the dataset"), a classifier's
# epoch, or a language model's measurement.
Progress = Union[str, EpochStats, EvalPoint]
Report = Callable[[Progress], None]


@dataclass(frozen=True)
class Training:
    """What to train, for whom, on how many CPU threads. Plain and picklable, so it can cross a
    process (or machine) boundary. threads None: leave the worker's torch setting alone."""

    config: RunConfig
    owner: str = EVERYONE
    threads: int | None = None


@dataclass
class Outcome:
    """A finished (or stopped) training: the run and its weights as safetensors bytes (bytes
    cross a pipe or a cluster's object store as they are; tensors would need shared memory)."""

    run: Run
    weights: bytes

    def tensors(self):
        from safetensors.torch import load
        return load(self.weights)


class TrainingFailed(Exception):
    """A training that ended in an error, carried back from wherever it ran.

    expected: a bad request (unknown dataset, a limit, a bad setting) whose message is for the
    person; otherwise a fault whose details (a traceback) belong in the server's log.
    """

    def __init__(self, message: str, expected: bool, details: str = ""):
        super().__init__(message)
        self.expected = expected
        self.details = details

    @classmethod
    def of(cls, exc: BaseException) -> "TrainingFailed":
        if isinstance(exc, TrainingFailed):
            return exc
        if isinstance(exc, (DatasetUnavailable, ValueError)):
            return cls(str(exc), expected=True)
        return cls(f"{type(exc).__name__}: {exc}", expected=False,
                   details="".join(traceback.format_exception(exc)))


class DatasetCache:
    """The last few datasets a backend loaded, so consecutive trainings on one dataset load it once.

    clear() gives their memory back (a backend calls it when it has been idle a while). load: a
    loader that caches on its own, used instead (the pages' read-only copies, for trainings in
    the server's threads: one copy of a dataset where there would be two)."""

    def __init__(self, size: int = 2, load: Callable[[str, int], Dataset] | None = None):
        self.size = size
        self.load = load
        self._lock = threading.Lock()
        self._datasets: OrderedDict[tuple[str, int], Dataset] = OrderedDict()

    def get(self, name: str, seed: int) -> Dataset:
        from nnapps.data import load_dataset

        if self.load is not None:  # someone else's cache (the pages'): theirs to keep or drop
            return self.load(name, seed)
        key = (name, seed)
        with self._lock:
            if key in self._datasets:
                self._datasets.move_to_end(key)
                return self._datasets[key]
        dataset = load_dataset(name, seed)
        with self._lock:
            self._datasets[key] = dataset
            while len(self._datasets) > self.size:
                self._datasets.popitem(last=False)
        return dataset

    def clear(self) -> None:
        with self._lock:
            self._datasets.clear()


def release_memory() -> None:
    """Hand freed memory back to the system: glibc's allocator keeps what a training freed in its
    arenas until asked (a server that trained in its own threads would otherwise stay at its
    peak size)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to ask
        pass


def perform(training: Training, report: Report, should_stop: Callable[[], bool],
            datasets: DatasetCache | None = None) -> Outcome:
    """Train training.config; report progress; should_stop is checked between steps (what was
    learned is kept, the run marked stopped). Raises what the training raised."""
    from safetensors.torch import save

    from nnapps.models import get_family

    fit = _FITS[get_family(training.config.family).task]
    run, weights = fit(training, report, should_stop, datasets)
    return Outcome(run, save({k: v.detach().cpu().contiguous() for k, v in weights.items()}))


def _fit_classifier(training: Training, report: Report, should_stop: Callable[[], bool],
                    datasets: DatasetCache | None):
    from nnapps.training.pipeline import fit_run

    config = training.config
    report("loading the dataset")
    dataset = (datasets or DatasetCache(0)).get(config.dataset, config.split_seed)
    report("training")
    return fit_run(config, dataset, on_epoch=report, should_stop=should_stop, threads=training.threads)


def _fit_language_model(training: Training, report: Report, should_stop: Callable[[], bool],
                        datasets: DatasetCache | None):
    from nnapps.gpt.runs import fit_gpt_run

    report("training")  # a corpus is read by the training itself: no dataset to load
    return fit_gpt_run(training.config, on_eval=report, should_stop=should_stop)


# How a family's task trains: (training, report, should_stop, datasets) -> (run, weights).
_FITS = {CLASSIFIER: _fit_classifier, LANGUAGE_MODEL: _fit_language_model}
