"""The Ray backend: each training a Ray task, on an embedded Ray or on a cluster joined by its address.

Chosen by NNAPPS_RAY_ADDRESS (or the command line's --ray-address): "auto", "host:6379",
"ray://host:10001", or "local" for a Ray this process starts (with num_cpus) and shuts down at
exit. An address is always passed to ray.init: a bare ray.init() would silently join any
cluster running on the machine. A public copy never starts Ray itself (its daemons and workers
take ~0.4 GB each), only joins one elsewhere.

A task runs perform() (the function every backend runs) as a Ray generator: it yields its
progress, then its Outcome; the driver, this process, alone writes the store. Each task asks for
one CPU and is never retried (a trial that killed its worker is reported, not repeated). Workers
load shipped and downloadable datasets themselves; an uploaded one exists only here, so it
travels through Ray's object store. A stop cancels the task (nothing of it is stored). Quiet:
workers' logs stay on the workers and usage statistics are off. Ray's token authentication
(RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH) is read by Ray from the environment.

Ray is optional (requirements-cluster.txt); nothing imports it unless this backend is chosen.
"""

import atexit
import os
import threading
from pathlib import Path

from nnapps import limits
from nnapps.execution.task import DatasetCache, Outcome, Report, Training, TrainingFailed, perform

ADDRESS_VARIABLE = "NNAPPS_RAY_ADDRESS"
LOCAL = "local"
INSTALL = "pip install -r requirements-cluster.txt"
_POLL_SECONDS = 0.1  # how often a waiting slot looks at its job's stop flag
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

# A Ray worker process serves task after task: consecutive trials on one dataset load it once.
_worker_datasets = DatasetCache()


def import_ray():
    """ray, or an ImportError that says how to install it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # read when Ray starts: before the import
    try:
        import ray
    except ImportError:
        raise ImportError(f"the Ray executor needs Ray, an optional dependency: {INSTALL}") from None
    return ray


def ray_address(explicit: str | None = None) -> str:
    """explicit, else NNAPPS_RAY_ADDRESS, else "local"; a public copy refuses "local"."""
    address = (explicit or os.environ.get(ADDRESS_VARIABLE, "")).strip() or LOCAL
    if address == LOCAL and limits.is_public():
        raise ValueError(f"a public copy does not start Ray by itself (it takes about 0.4 GB, and each "
                         f"worker as much again): set {ADDRESS_VARIABLE} to a cluster's address")
    return address


def _train(training: Training, dataset):
    """The task: progress items, then the Outcome (a generator, so progress streams back)."""
    import queue as queues

    items: queues.SimpleQueue = queues.SimpleQueue()
    datasets = _worker_datasets if dataset is None else DatasetCache(load=lambda name, seed: dataset)
    done = object()
    stop = threading.Event()

    def run():
        try:
            items.put(("outcome", perform(training, lambda p: items.put(("progress", p)), stop.is_set, datasets)))
        except BaseException as exc:  # carried to the driver as the task's error
            items.put(("error", exc))
        items.put((done, None))

    threading.Thread(target=run, daemon=True).start()
    try:
        while True:
            kind, value = items.get()
            if kind is done:
                return
            if kind == "error":
                raise value
            yield value if kind == "outcome" else ("progress", value)
    finally:  # cancelled (or finished): the training thread stops after its step, freeing this worker
        stop.set()


class RayBackend:
    """Sends each Training to Ray as a task; slots tasks run at once (one per queue slot)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.ray = ray = import_ray()
        self.address = ray_address(address)
        self.started = False
        if not ray.is_initialized():  # a test session (or the host program) may have started it already
            options = {"log_to_driver": False, "include_dashboard": False}
            if self.address == LOCAL:
                options.update(num_cpus=num_cpus or os.cpu_count() or 1,
                               runtime_env={"env_vars": {"PYTHONPATH": _PACKAGE_ROOT}})
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, ray.exceptions.RayError) as exc:
                raise ConnectionError(
                    f"could not join the Ray cluster at {self.address}: {str(exc).splitlines()[0]} "
                    "(a cluster with token authentication, Ray's default for one started by `ray start`, "
                    "needs RAY_AUTH_MODE=token here and its token in ~/.ray/auth_token, RAY_AUTH_TOKEN "
                    "or RAY_AUTH_TOKEN_PATH)") from exc
            self.started = True
            atexit.register(self.close)
        self._remote = ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")(_train)
        self._uploads: dict[tuple[str, int], object] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RayBackend({self.address!r}, cpus={self.cpus()})"

    def cpus(self) -> int:
        """The cluster's CPUs: how many trainings it runs at once."""
        return int(self.ray.cluster_resources().get("CPU", 1))

    def _dataset_ref(self, name: str, seed: int):
        """An uploaded dataset, put once into the object store; None for one a worker loads itself."""
        from nnapps.data import get_spec, load_dataset

        if get_spec(name).origin != "upload":
            return None
        with self._lock:
            if (name, seed) not in self._uploads:
                self._uploads[(name, seed)] = self.ray.put(load_dataset(name, seed))
            return self._uploads[(name, seed)]

    def execute(self, training: Training, report: Report, should_stop) -> Outcome:
        from nnapps.models import CLASSIFIER, get_family

        ray = self.ray
        config = training.config
        try:
            # Only a classifier's dataset is shipped to the workers; a language model reads its text.
            dataset = (self._dataset_ref(config.dataset, config.split_seed)
                       if get_family(config.family).task == CLASSIFIER else None)
        except Exception as exc:
            raise TrainingFailed.of(exc) from exc
        report("waiting for a Ray worker")
        stream = self._remote.remote(Training(config, training.owner, threads=1), dataset)
        try:
            while True:
                if should_stop():
                    ray.cancel(stream)
                    raise TrainingFailed("stopped: its Ray task was cancelled (nothing of it is kept)",
                                         expected=True)
                ready, _ = ray.wait([stream], timeout=_POLL_SECONDS)
                if not ready:
                    continue
                try:
                    item = ray.get(next(stream))
                except StopIteration:
                    raise TrainingFailed("the Ray task ended without a result", expected=False) from None
                if isinstance(item, Outcome):
                    return item
                report(item[1])
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            raise TrainingFailed.of(cause) from exc
        except ray.exceptions.RayError as exc:  # a worker or node died, the cluster went away
            raise TrainingFailed(f"its Ray worker ended unexpectedly: {type(exc).__name__}: {exc}",
                                 expected=False) from exc

    def tidy(self) -> None:
        """Ray ends idle workers itself."""

    def worker_pids(self) -> list[int]:
        return []

    def close(self) -> None:
        """Shut Ray down if this backend started it (its agents would otherwise outlive the server)."""
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
        self.started = False
