"""Training jobs: a queue that trains runs in background threads, with live progress and stop.

A page submits configs and polls; training goes on between reruns of the page, a Stop click
sets a flag the training loop checks between steps, and results land in the run store, so
a reload or a second tab loses nothing. At most max_running jobs train at once; the rest
wait in submission order.
"""

import itertools
import logging
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .data import Dataset, DatasetUnavailable, load_dataset
from .gpt.train import EvalPoint
from .models.gpt import FAMILY as GPT
from .pipeline import train_run
from .retention import check_room, evict
from .runs import EVERYONE, RunConfig, RunStore
from .training import EpochStats

STATES = ("queued", "running", "done", "stopped", "failed")
_DATASET_CACHE_SIZE = 2
# Finished jobs kept for pages to read; older ones are forgotten (their runs stay in the store).
_MAX_FINISHED = 500

_log = logging.getLogger(__name__)


@dataclass
class Job:
    """One config on its way to a stored run. Read it through JobQueue.snapshot()."""

    job_id: int
    config: RunConfig
    owner: str
    state: str = "queued"
    epochs: list[EpochStats] = field(default_factory=list)
    points: list[EvalPoint] = field(default_factory=list)  # a GPT's measurements, by step
    message: str = "waiting for a free slot"
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    also_for: set[str] = field(default_factory=set)  # other visitors who asked for the same run
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def total_epochs(self) -> int:
        return int(self.config.train.get("epochs", 1))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "failed")


class JobQueue:
    """Trains submitted RunConfigs into store with at most max_running at a time."""

    def __init__(self, store: RunStore, max_running: int = 1):
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.store = store
        self.max_running = max_running
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._pending: queue.Queue[int] = queue.Queue()
        self._ids = itertools.count(1)
        self._datasets: OrderedDict[tuple[str, int], Dataset] = OrderedDict()
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"nnapps-train-{i}")
                         for i in range(max_running)]
        for worker in self._workers:
            worker.start()

    def __repr__(self) -> str:
        return f"JobQueue(max_running={self.max_running}, jobs={len(self._jobs)})"

    def submit(self, config: RunConfig, owner: str = EVERYONE) -> int:
        """Queue config for owner (a visitor, or EVERYONE for an example); a config already
        queued or training is not queued twice. Raises LimitExceeded when owner keeps as many
        runs as a visitor may."""
        with self._lock:
            waiting = {j.config.run_id for j in self._jobs.values() if j.owner == owner and not j.finished}
            check_room(self.store, owner, [config.run_id], waiting=len(waiting - {config.run_id}))
            for job in self._jobs.values():
                if job.config.run_id == config.run_id and not job.finished:
                    if job.owner != owner:  # the same run, wanted by two visitors: theirs when done
                        job.also_for.add(owner)
                    return job.job_id
            job = Job(job_id=next(self._ids), config=config, owner=owner)
            self._jobs[job.job_id] = job
            finished = [j for j in self._jobs.values() if j.finished]
            for old in finished[:max(len(finished) - _MAX_FINISHED, 0)]:
                del self._jobs[old.job_id]
        self._pending.put(job.job_id)
        return job.job_id

    def stop(self, job_id: int) -> None:
        """Ask a job to stop: a queued one never starts, a running one ends after its step."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.stop_event.set()
            if job.state == "queued":
                job.state, job.message = "stopped", "cancelled before it started"

    def snapshot(self, job_id: int) -> Job | None:
        """A copy of the job's state that the caller may read while training goes on."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            return Job(job_id=job.job_id, config=job.config, owner=job.owner, state=job.state,
                       epochs=list(job.epochs), points=list(job.points), message=job.message,
                       error=job.error, submitted=job.submitted)

    def position(self, job_id: int) -> int:
        """How many queued jobs are ahead of this one (0 when it is next or running)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state != "queued":
                return 0
            return sum(1 for j in self._jobs.values() if j.state == "queued" and j.job_id < job_id)

    def wait(self, job_ids: list[int], timeout: float = 600.0) -> list[Job]:
        """Block until the jobs have finished (for the command line and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snaps = [self.snapshot(j) for j in job_ids]
            if all(s is None or s.finished for s in snaps):
                return [s for s in snaps if s is not None]
            time.sleep(0.05)
        raise TimeoutError(f"jobs {job_ids} did not finish in {timeout:.0f} s")

    def _work(self) -> None:
        while True:
            job_id = self._pending.get()
            with self._lock:
                job = self._jobs[job_id]
                if job.state != "queued":
                    continue
                job.state, job.message = "running", "loading the dataset"
            self._run(job)
            self._hand_over(job)

    def _hand_over(self, job: Job) -> None:
        """Give the finished run to everyone who asked for it, and make room if the store is full."""
        try:
            if job.state in ("done", "stopped"):  # its run is in the store
                for visitor in {job.owner, *job.also_for}:
                    self.store.claim(job.config.run_id, visitor)
            evict(self.store)
        except Exception:  # the run is stored; a failed claim must not take the worker down
            _log.exception("handing over job %s", job.job_id)

    def _run(self, job: Job) -> None:
        def on_epoch(stats: EpochStats) -> None:
            with self._lock:
                job.epochs.append(stats)
                job.message = f"epoch {stats.epoch} of {job.total_epochs}"

        if job.config.family == GPT.name:
            self._run_gpt(job)
            return
        try:
            dataset = self._dataset(job.config.dataset, job.config.split_seed)
            with self._lock:
                job.message = "training"
            run = train_run(job.config, self.store, dataset=dataset, on_epoch=on_epoch,
                            should_stop=job.stop_event.is_set, owner=job.owner)
            with self._lock:
                job.epochs = run.history.epochs if not job.epochs else job.epochs
                job.state = "stopped" if run.status == "stopped" else "done"
                job.message = f"test accuracy {run.metrics['accuracy']:.1%}"
        except Exception as exc:
            self._failed(job, exc)

    def _run_gpt(self, job: Job) -> None:
        from .gpt.runs import train_gpt_run

        steps = job.config.train["steps"]

        def on_eval(point: EvalPoint) -> None:
            with self._lock:
                job.points.append(point)
                job.message = f"step {point.step:,} of {steps:,}"

        try:
            with self._lock:
                job.message = "training"
            run = train_gpt_run(job.config, self.store, on_eval=on_eval, should_stop=job.stop_event.is_set,
                                owner=job.owner)
            with self._lock:
                job.state = "stopped" if run.status == "stopped" else "done"
                job.message = f"validation loss {run.metrics['val_loss']:.3f}"
        except Exception as exc:
            self._failed(job, exc)

    def _failed(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, (DatasetUnavailable, ValueError)):
            self._fail(job, str(exc))
            return
        # A server thread must survive any one bad job: the page shows what went wrong in a
        # line; the traceback goes to the server's log.
        _log.error("training job %s (%s) failed", job.job_id, job.config.label(), exc_info=exc)
        self._fail(job, f"{type(exc).__name__}: {exc}")

    def _fail(self, job: Job, error: str) -> None:
        with self._lock:
            job.state, job.error, job.message = "failed", error, "failed"

    def _dataset(self, name: str, seed: int) -> Dataset:
        key = (name, seed)
        with self._lock:
            if key in self._datasets:
                self._datasets.move_to_end(key)
                return self._datasets[key]
        dataset = load_dataset(name, seed)
        with self._lock:
            self._datasets[key] = dataset
            while len(self._datasets) > _DATASET_CACHE_SIZE:
                self._datasets.popitem(last=False)
        return dataset
