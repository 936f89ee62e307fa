"""Training jobs: a queue in the server that hands trainings to an executor and watches them.

A page submits configs and reads snapshots; training goes on between reruns of the page, a
Stop click sets a flag the training checks between steps, and results land in the run store,
so a reload or a second tab loses nothing. At most max_running jobs train at once; the rest
wait in submission order. Where a training runs (a worker process, a thread of this server)
is the backend's business (nnapps.execution); only this queue writes the store. The job list
is kept on disk too, so jobs a crashed server left are shown as interrupted, to start again.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from nnapps.execution import Backend, Outcome, Training, TrainingFailed, make_backend
from nnapps.execution.journal import JobJournal, server_token
from nnapps.gpt.train import EvalPoint
from nnapps.models import LANGUAGE_MODEL, get_family
from nnapps.store.retention import check_room, evict
from nnapps.store.runs import EVERYONE, Run, RunConfig, RunStore
from nnapps.training.loop import EpochStats

STATES = ("queued", "running", "done", "stopped", "failed", "interrupted")
# Finished jobs kept for pages to read; older ones are forgotten (their runs stay in the store).
_MAX_FINISHED = 500
_CLOSE_SECONDS = 30.0  # close() waits this long for stopped trainings to hand their runs over

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
        return self.state in ("done", "stopped", "failed", "interrupted")


class JobQueue:
    """Trains submitted RunConfigs into store with at most max_running at a time.

    backend: an execution backend, or its name ("processes", "threads"); None reads the
    NNAPPS_EXECUTOR setting. close() ends the slots and the backend's workers (unless
    close_backend is False: a backend that serves other queues too).
    """

    def __init__(self, store: RunStore, max_running: int = 1, backend: Backend | str | None = None,
                 close_backend: bool = True):
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.store = store
        self.max_running = max_running
        self._close_backend = close_backend
        self.backend = backend if hasattr(backend, "execute") else make_backend(backend, max_running)
        self.journal = JobJournal(store.db_path)
        self._server = server_token()
        self.journal.recover()
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pending: queue.Queue[int | None] = queue.Queue()
        self._closed = threading.Event()
        self._slots = [threading.Thread(target=self._work, daemon=True, name=f"nnapps-train-{i}")
                       for i in range(max_running)]
        self._tidier = threading.Thread(target=self._tidy, daemon=True, name="nnapps-tidy")
        for thread in (*self._slots, self._tidier):
            thread.start()

    def __repr__(self) -> str:
        return f"JobQueue(max_running={self.max_running}, backend={self.backend!r}, jobs={len(self._jobs)})"

    def submit(self, config: RunConfig, owner: str = EVERYONE) -> int:
        """Queue config for owner (a visitor, or EVERYONE for an example); a config already
        queued or training is not queued twice. Raises LimitExceeded when owner keeps as many
        runs as a visitor may."""
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the job queue is closed")
            waiting = {j.config.run_id for j in self._jobs.values() if j.owner == owner and not j.finished}
            check_room(self.store, owner, [config.run_id], waiting=len(waiting - {config.run_id}))
            for job in self._jobs.values():
                if job.config.run_id == config.run_id and not job.finished:
                    if job.owner != owner:  # the same run, wanted by two visitors: theirs when done
                        job.also_for.add(owner)
                    return job.job_id
            job = Job(job_id=self.journal.add(config, owner, self._server), config=config, owner=owner)
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
                self._set(job, "stopped", "cancelled before it started")

    def snapshot(self, job_id: int) -> Job | None:
        """A copy of the job's state that the caller may read while training goes on."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._copy(job)

    @staticmethod
    def _copy(job: Job) -> Job:
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
        def finished():
            return all(j not in self._jobs or self._jobs[j].finished for j in job_ids)

        with self._changed:
            if not self._changed.wait_for(finished, timeout):
                raise TimeoutError(f"jobs {job_ids} did not finish in {timeout:.0f} s")
            return [self._copy(self._jobs[j]) for j in job_ids if j in self._jobs]

    def wait_for(self, job_id: int, condition, timeout: float = 600.0) -> Job:
        """Block until condition(snapshot) holds: a state, an epoch reached (for tests)."""
        with self._changed:
            if not self._changed.wait_for(lambda: job_id in self._jobs and condition(self._copy(self._jobs[job_id])),
                                          timeout):
                raise TimeoutError(f"job {job_id} did not reach the condition in {timeout:.0f} s")
            return self._copy(self._jobs[job_id])

    # Jobs a crashed server left behind.

    def interrupted(self, visitor: str) -> list[Job]:
        """The jobs that were queued or training when a server stopped, which visitor may start again."""
        return [Job(job_id=r.job_id, config=r.config, owner=r.owner, state=r.state, message=r.message,
                    submitted=r.submitted) for r in self.journal.interrupted(visitor)]

    def restart(self, job_id: int, visitor: str) -> int | None:
        """Queue an interrupted job again (for its owner); the new job's id, or None if it is not
        one of visitor's. Raises LimitExceeded as submit does (the job stays interrupted)."""
        row = next((r for r in self.journal.interrupted(visitor) if r.job_id == job_id), None)
        if row is None:
            return None
        new_id = self.submit(row.config, row.owner)
        self.journal.settle(job_id, visitor, "restarted")
        return new_id

    def dismiss(self, job_id: int, visitor: str) -> bool:
        """Stop listing an interrupted job; False if it is not one of visitor's."""
        return self.journal.settle(job_id, visitor, "dismissed") is not None

    def close(self, timeout: float = _CLOSE_SECONDS) -> None:
        """Stop taking jobs, stop the running ones (their runs are kept as stopped), mark the queued
        ones interrupted and end the backend's workers (those still training after timeout are
        killed, their jobs interrupted)."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            for job in self._jobs.values():
                job.stop_event.set()
                if job.state == "queued":
                    self._set(job, "interrupted", "the server closed its queue before it started")
        for _ in self._slots:
            self._pending.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._slots:
            thread.join(max(deadline - time.monotonic(), 0))
        if self._close_backend:
            self.backend.close()
        for thread in (*self._slots, self._tidier):
            thread.join(_CLOSE_SECONDS)

    # The slots.

    def _set(self, job: Job, state: str, message: str, error: str | None = None) -> None:
        """Change job's state (the caller holds the lock) on disk too, and wake waiters."""
        job.state, job.message, job.error = state, message, error
        self.journal.set_state(job.job_id, state, error or message)
        self._changed.notify_all()

    def _tidy(self) -> None:
        while not self._closed.wait(min(max(getattr(self.backend, "idle_seconds", 5.0) / 2, 0.5), 5.0)):
            try:
                self.backend.tidy()
            except Exception:  # a worker that would not end must not end the tidying
                _log.exception("tidying the executor")

    def _work(self) -> None:
        while True:
            job_id = self._pending.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.state != "queued":
                    continue
                self._set(job, "running", "starting")
            self._run(job)
            try:
                evict(self.store)  # make room if the store is past its size
            except Exception:
                _log.exception("evicting after job %s", job.job_id)

    def _run(self, job: Job) -> None:
        try:
            stored = self.store.get(job.config.run_id)
            if stored is not None and stored.status == "complete":
                self._finish(job, stored)
                return
            outcome = self.backend.execute(Training(job.config, job.owner), lambda p: self._progress(job, p),
                                           job.stop_event.is_set)
            self._store(job, outcome)
        except TrainingFailed as failed:
            if self._closed.is_set():
                with self._lock:
                    self._set(job, "interrupted", "the server closed its queue while it trained")
                return
            if not failed.expected:
                # The page shows what went wrong in a line; the details go to the server's log.
                _log.error("training job %s (%s) failed: %s\n%s", job.job_id, job.config.label(), failed,
                           failed.details)
            self._fail(job, str(failed))
        except Exception as exc:  # the store, or a bug here: this slot must survive any one job
            _log.error("training job %s (%s) failed", job.job_id, job.config.label(), exc_info=exc)
            self._fail(job, f"{type(exc).__name__}: {exc}")

    def _progress(self, job: Job, progress) -> None:
        with self._lock:
            if isinstance(progress, EpochStats):
                job.epochs.append(progress)
                job.message = f"epoch {progress.epoch} of {job.total_epochs}"
            elif isinstance(progress, EvalPoint):
                job.points.append(progress)
                job.message = f"step {progress.step:,} of {job.config.train['steps']:,}"
            else:
                job.message = str(progress)
            self._changed.notify_all()

    def _store(self, job: Job, outcome: Outcome) -> None:
        """Write the run (here, in the process that owns the store), then finish the job."""
        self.store.put(outcome.run, outcome.tensors(), job.owner)
        self._finish(job, outcome.run)

    def _finish(self, job: Job, run: Run) -> None:
        """Give the run to everyone who asked for it, then mark the job finished."""
        with self._lock:
            visitors = {job.owner, *job.also_for}
        try:
            for visitor in visitors:
                self.store.claim(run.run_id, visitor)
        except Exception:  # the run is stored; a failed claim must not fail the job
            _log.exception("handing over job %s", job.job_id)
        with self._lock:
            if not job.epochs:
                job.epochs = list(run.history.epochs)
            language_model = get_family(job.config.family).task == LANGUAGE_MODEL
            if not job.points and language_model:
                job.points = [EvalPoint(**p) for p in run.metrics.get("curve", [])]
            summary = (f"validation loss {run.metrics['val_loss']:.3f}" if language_model
                       else f"test accuracy {run.metrics['accuracy']:.1%}")
            note = run.history.stop_note(job.config.train.get("patience", 0), job.config.train.get("epochs", 0))
            summary += f"; {note}" if note else ""
            self._set(job, "stopped" if run.status == "stopped" else "done", summary)

    def _fail(self, job: Job, error: str) -> None:
        with self._lock:
            self._set(job, "failed", "failed", error)
