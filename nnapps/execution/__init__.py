"""Where trainings run: a Training (plain data) in, an Outcome (a run and its weights) out.

A backend has one blocking call, execute(training, report, should_stop) -> Outcome, made from
one of the job queue's slot threads; it raises TrainingFailed. The queue (nnapps.execution.jobs) keeps
the jobs, their owners and the run store; backends never write the store. Three run here:

- processes: a pool of spawned worker processes (killable; memory back to the system when
  idle workers end). The default on a local copy.
- threads: perform() in the server's own threads (nothing to start, least memory). The
  default on a public copy, where NNAPPS_MAX_TRAININGS is 1.

- ray: each training a Ray task, on an embedded Ray or a cluster (ray_backend; Ray is an
  optional dependency, imported only when this is chosen).

Settings: NNAPPS_EXECUTOR (processes, threads or ray), NNAPPS_RAY_ADDRESS (a cluster's
address, or local; set alone it chooses ray), NNAPPS_MAX_TRAININGS (limits.TRAININGS)
and NNAPPS_WORKER_IDLE_SECONDS (how long an idle worker, or the thread backend's cached
datasets, are kept).
"""

import os
from typing import Callable, Protocol

from nnapps import limits
from nnapps.execution.task import DatasetCache, Outcome, Progress, Report, Training, TrainingFailed, perform

EXECUTOR_VARIABLE = "NNAPPS_EXECUTOR"
IDLE_VARIABLE = "NNAPPS_WORKER_IDLE_SECONDS"
EXECUTORS = ("processes", "threads", "ray")
DEFAULT_IDLE_SECONDS = 60.0

__all__ = ["Backend", "DatasetCache", "Outcome", "Progress", "Report", "Training", "TrainingFailed",
           "executor_name", "idle_seconds", "make_backend", "perform"]


class Backend(Protocol):
    name: str

    def execute(self, training: Training, report: Report, should_stop: Callable[[], bool]) -> Outcome: ...

    def tidy(self) -> None:
        """Give back what has been idle long enough (called now and then by the queue)."""

    def worker_pids(self) -> list[int]:
        """The live worker processes' ids (none for threads)."""

    def close(self) -> None: ...


def executor_name() -> str:
    """NNAPPS_EXECUTOR, or the default: ray when NNAPPS_RAY_ADDRESS is set, else threads on a
    public copy, processes on a local one."""
    raw = os.environ.get(EXECUTOR_VARIABLE, "").strip().lower()
    if not raw and os.environ.get("NNAPPS_RAY_ADDRESS", "").strip():
        return "ray"
    if not raw:
        return "threads" if limits.is_public() else "processes"
    if raw not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_VARIABLE}={raw!r} must be one of {', '.join(EXECUTORS)}")
    return raw


def idle_seconds() -> float:
    raw = os.environ.get(IDLE_VARIABLE)
    if raw is None:
        return DEFAULT_IDLE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{IDLE_VARIABLE}={raw!r} is not a number of seconds") from None
    if not value >= 0:
        raise ValueError(f"{IDLE_VARIABLE}={raw!r} must be 0 or more")
    return value


def make_backend(name: str | None = None, slots: int = 1, idle: float | None = None,
                 load: Callable | None = None) -> Backend:
    """The named backend (default: executor_name()) for slots trainings at once.

    load(name, seed) -> Dataset: a caching loader the thread backend uses instead of its own
    (a worker process loads its datasets itself)."""
    name = name or executor_name()
    idle = idle_seconds() if idle is None else idle
    if name == "processes":
        from nnapps.execution.processes import ProcessBackend
        return ProcessBackend(slots, idle)
    if name == "threads":
        from nnapps.execution.threads import ThreadBackend
        return ThreadBackend(slots, idle, load)
    if name == "ray":
        from nnapps.execution.ray_backend import RayBackend
        return RayBackend(num_cpus=slots)
    raise ValueError(f"unknown executor {name!r}: one of {', '.join(EXECUTORS)}")
