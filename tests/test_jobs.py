"""The job queue on both executors: order, de-duplication, stop, failures, positions, close.

No test sleeps or reads the clock: each waits for a job's state through the queue's condition
(wait, wait_for), with timeouts generous enough for a busy machine.
"""

import os
import signal
import sqlite3
import threading

import numpy as np
import pytest

from nnapps.execution import make_backend
from nnapps.execution.processes import ProcessBackend
from nnapps.execution.jobs import STATES, JobQueue
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore

WAIT = 120  # seconds: a worker process imports torch before its first training
BACKENDS = ("threads", "processes")


def quick(seed: int) -> RunConfig:
    return RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1, "seed": seed})


def slow(seed: int = 99) -> RunConfig:
    """A job that would train for minutes: tests stop it."""
    return RunConfig.make("digits", "mlp", {"width": 16},
                          {"epochs": 200, "batch_size": 4, "patience": 0, "seed": seed})


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


@pytest.fixture(scope="module")
def processes():
    """One pool of worker processes for the module's queues (each would otherwise start its own)."""
    backend = ProcessBackend(slots=2, idle_seconds=600)
    yield backend
    backend.close()


@pytest.fixture
def make_queue(store, processes):
    """make_queue(backend name, max_running) -> a queue on store; its jobs are stopped afterwards."""
    made = []

    def make(backend: str = "threads", max_running: int = 1, on=None) -> JobQueue:
        queue = JobQueue(on or store, max_running, processes if backend == "processes" else backend,
                         close_backend=False)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


class Counting:
    """A backend that counts how many trainings it runs at once."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
        self.running = self.most = 0
        self._lock = threading.Lock()

    def execute(self, training, report, should_stop):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return self.inner.execute(training, report, should_stop)
        finally:
            with self._lock:
                self.running -= 1

    def tidy(self):
        self.inner.tidy()

    def worker_pids(self):
        return self.inner.worker_pids()

    def close(self):
        self.inner.close()


def test_max_running_must_be_positive(store):
    with pytest.raises(ValueError, match="max_running must be at least 1, got 0"):
        JobQueue(store, max_running=0)


def test_an_unknown_executor_is_named(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_EXECUTOR", "cluster")
    with pytest.raises(ValueError, match="NNAPPS_EXECUTOR='cluster' must be one of processes, threads"):
        JobQueue(store)


def test_the_default_executor_follows_the_copy(monkeypatch):
    monkeypatch.delenv("NNAPPS_EXECUTOR", raising=False)
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    assert make_backend(slots=1).name == "threads"
    monkeypatch.setenv("NNAPPS_PUBLIC", "0")
    assert make_backend(slots=1).name == "processes"  # made lazily: no worker starts here


@pytest.mark.parametrize("backend", BACKENDS)
def test_jobs_run_one_at_a_time_in_submission_order(store, processes, backend):
    counting = Counting(processes if backend == "processes" else make_backend("threads", 1))
    queue = JobQueue(store, max_running=1, backend=counting, close_backend=False)
    configs = [quick(seed) for seed in (3, 1, 2)]
    ids = [queue.submit(c, owner="me") for c in configs]
    assert ids == sorted(ids) and len(set(ids)) == 3
    jobs = queue.wait(ids, timeout=WAIT)
    queue.close()
    assert counting.most == 1
    assert [j.state for j in jobs] == ["done"] * 3
    assert all(j.error is None and j.owner == "me" and j.message.startswith("test accuracy") for j in jobs)
    assert all(len(j.epochs) == 1 for j in jobs)
    created = [store.get(c.run_id).created for c in configs]
    assert created == sorted(created)  # trained in the order submitted, not by seed


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_config_gives_the_same_numbers_through_either_executor_and_train_run(tmp_path, make_queue, backend):
    config = RunConfig.make("digits", "mlp", {"width": 32, "dropout": 0.2}, {"epochs": 2, "seed": 3})
    direct = train_run(config, RunStore(tmp_path / "direct"))
    store = RunStore(tmp_path / backend)
    queue = make_queue(backend, on=store)
    assert queue.wait([queue.submit(config)], timeout=WAIT)[0].state == "done"
    run = store.get(config.run_id)
    assert [e.train_loss for e in run.history.epochs] == [e.train_loss for e in direct.history.epochs]
    assert [e.val_acc for e in run.history.epochs] == [e.val_acc for e in direct.history.epochs]
    np.testing.assert_array_equal(run.test_proba, direct.test_proba)
    weights, expected = store.load_weights(config.run_id), RunStore(tmp_path / "direct").load_weights(config.run_id)
    assert weights.keys() == expected.keys()
    assert all((weights[k] == expected[k]).all() for k in weights)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_a_running_job_keeps_what_it_learned(store, make_queue, backend):
    queue = make_queue(backend)
    config = slow()
    job = queue.submit(config)
    queue.wait_for(job, lambda s: len(s.epochs) >= 1, timeout=WAIT)  # it has learned something
    queue.stop(job)
    snap = queue.wait([job], timeout=WAIT)[0]
    assert snap.state == "stopped" and snap.error is None
    assert 1 <= len(snap.epochs) < 200  # ended after its step, not after 200 epochs
    run = store.get(config.run_id)
    assert run is not None and run.status == "stopped" and run.history.stopped_by_user
    assert len(run.history.epochs) == len(snap.epochs)
    assert run.metrics["accuracy"] > 0.5  # kept what it learned in its first epoch


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_training_is_reported_and_the_next_one_runs(store, make_queue, backend):
    queue = make_queue(backend)
    # modality given, so the config is built and the failure comes from the training itself
    bad = queue.submit(RunConfig.make("no-such-dataset", "mlp", modality="image"))
    good = queue.submit(quick(0))
    bad_snap, good_snap = queue.wait([bad, good], timeout=WAIT)
    assert bad_snap.state == "failed" and bad_snap.message == "failed"
    assert "unknown dataset 'no-such-dataset'" in bad_snap.error
    assert "'digits'" in bad_snap.error  # the valid names are listed
    assert good_snap.state == "done"  # one bad job does not stop the slot or the worker


def test_same_config_while_queued_is_one_job(store, make_queue):
    queue = make_queue()
    blocker = queue.submit(slow())
    queue.wait_for(blocker, lambda s: s.state == "running", timeout=WAIT)
    first = queue.submit(quick(0))
    assert queue.submit(quick(0)) == first
    assert queue.submit(slow()) == blocker  # also while it trains
    other = queue.submit(quick(1))
    assert other != first
    queue.stop(blocker)
    jobs = queue.wait([blocker, first, other], timeout=WAIT)
    assert [j.state for j in jobs] == ["stopped", "done", "done"]
    # Once finished, submitting again makes a new job, which finds the stored run.
    again = queue.submit(quick(0))
    assert again not in (first, other, blocker)
    assert queue.wait([again], timeout=WAIT)[0].state == "done"


def test_stop_a_queued_job_cancels_it(store, make_queue):
    queue = make_queue()
    blocker = queue.submit(slow())
    queue.wait_for(blocker, lambda s: s.state == "running", timeout=WAIT)
    config = quick(5)
    queued = queue.submit(config)
    queue.stop(queued)
    snap = queue.snapshot(queued)
    assert snap.state == "stopped" and snap.message == "cancelled before it started"
    queue.stop(blocker)
    assert [j.state for j in queue.wait([blocker, queued], timeout=WAIT)] == ["stopped", "stopped"]
    # One slot takes jobs in order: had the cancelled job started, it would have before this one.
    assert queue.wait([queue.submit(quick(6))], timeout=WAIT)[0].state == "done"
    assert queue.snapshot(queued).state == "stopped" and queue.snapshot(queued).epochs == []
    assert store.get(config.run_id) is None  # never trained


def test_a_stopped_run_is_retrained_when_submitted_again(store, make_queue):
    queue = make_queue()
    config = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 3, "batch_size": 4, "seed": 7})
    job = queue.submit(config)
    queue.wait_for(job, lambda s: s.state == "running", timeout=WAIT)
    queue.stop(job)
    assert queue.wait([job], timeout=WAIT)[0].state == "stopped"
    assert store.get(config.run_id).status == "stopped"
    again = queue.submit(config)
    snap = queue.wait([again], timeout=WAIT)[0]
    assert snap.state == "done" and len(snap.epochs) >= 1
    assert store.get(config.run_id).status == "complete"


def test_an_unexpected_error_fails_the_job_in_one_line_and_logs_the_traceback(store, make_queue, monkeypatch, caplog):
    from nnapps.training import pipeline

    real_fit_run = pipeline.fit_run

    def fit_run(config, *args, **kwargs):
        if config.hparams["width"] == 7:
            raise RuntimeError("the kernel fell over")
        return real_fit_run(config, *args, **kwargs)

    monkeypatch.setattr(pipeline, "fit_run", fit_run)
    queue = make_queue()
    bad = queue.submit(RunConfig.make("digits", "mlp", {"width": 7}, train={"epochs": 1}))
    good = queue.submit(quick(0))
    bad_snap, good_snap = queue.wait([bad, good], timeout=WAIT)
    assert bad_snap.state == "failed" and bad_snap.error == "RuntimeError: the kernel fell over"
    assert good_snap.state == "done"
    logged = [r.getMessage() for r in caplog.records if r.name == "nnapps.execution.jobs"]
    assert any("failed" in m and "Traceback" in m and "the kernel fell over" in m for m in logged)


def test_position_counts_queued_jobs_ahead(store, make_queue):
    queue = make_queue()
    blocker = queue.submit(slow())
    queue.wait_for(blocker, lambda s: s.state == "running", timeout=WAIT)
    a, b, c = (queue.submit(quick(seed)) for seed in (10, 11, 12))
    assert [queue.position(j) for j in (blocker, a, b, c)] == [0, 0, 1, 2]
    queue.stop(b)
    assert [queue.position(j) for j in (a, b, c)] == [0, 0, 1]
    assert queue.position(12345) == 0
    for j in (a, c, blocker):
        queue.stop(j)
    queue.wait([blocker, a, b, c], timeout=WAIT)


def test_stored_run_is_not_trained_again(store, make_queue):
    queue = make_queue()
    config = quick(4)
    first = queue.wait([queue.submit(config)], timeout=WAIT)[0]
    created = store.get(config.run_id).created
    second = queue.wait([queue.submit(config)], timeout=WAIT)[0]
    assert second.state == "done" and second.epochs == first.epochs
    assert store.get(config.run_id).created == created


def test_snapshot_is_a_copy_and_unknown_ids(store, make_queue):
    queue = make_queue()
    job = queue.submit(quick(8))
    snap = queue.snapshot(job)
    assert snap.state in STATES and snap.total_epochs == 1
    snap.state = "failed"
    snap.epochs.append("not a real epoch")
    assert queue.snapshot(job).state != "failed"
    assert "not a real epoch" not in queue.snapshot(job).epochs
    assert queue.snapshot(999) is None
    queue.stop(999)  # unknown: nothing happens
    queue.wait([job], timeout=WAIT)


def test_wait_times_out(store, make_queue):
    queue = make_queue()
    job = queue.submit(slow())
    with pytest.raises(TimeoutError, match=rf"jobs \[{job}\] did not finish"):
        queue.wait([job], timeout=0.2)
    queue.stop(job)
    queue.wait([job], timeout=WAIT)


def test_two_slots_train_two_jobs_at_once(store, make_queue):
    queue = make_queue(max_running=2)
    a, b = queue.submit(slow(1)), queue.submit(slow(2))
    queue.wait_for(a, lambda s: s.state == "running", timeout=WAIT)
    queue.wait_for(b, lambda s: s.state == "running", timeout=WAIT)
    for j in (a, b):
        queue.stop(j)
    assert [s.state for s in queue.wait([a, b], timeout=WAIT)] == ["stopped", "stopped"]


def test_runs_trained_side_by_side_give_the_numbers_of_a_run_alone(tmp_path, make_queue):
    """Weights, shuffling and dropout use no shared random state, so threads do not disturb a run."""
    config = RunConfig.make("digits", "mlp", {"width": 32, "dropout": 0.2}, {"epochs": 2, "seed": 3})
    neighbour = RunConfig.make("digits", "mlp", {"width": 32, "dropout": 0.2}, {"epochs": 2, "seed": 4})
    alone_store = RunStore(tmp_path / "alone")
    alone = make_queue(on=alone_store)
    alone.wait([alone.submit(config)], timeout=WAIT)

    together_store = RunStore(tmp_path / "together")
    together = make_queue(max_running=2, on=together_store)
    ids = [together.submit(neighbour), together.submit(config)]
    assert [j.state for j in together.wait(ids, timeout=WAIT)] == ["done", "done"]
    a, b = alone_store.get(config.run_id), together_store.get(config.run_id)
    assert [e.train_loss for e in a.history.epochs] == [e.train_loss for e in b.history.epochs]
    assert (a.test_proba == b.test_proba).all()
    assert not (together_store.get(neighbour.run_id).test_proba == b.test_proba).all()


# ---- worker processes: killed, idle, closed ------------------------------------------------

def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_killed_mid_epoch_fails_its_run_and_the_store_stays_whole(store):
    queue = JobQueue(store, max_running=1, backend="processes")
    kept = queue.wait([queue.submit(quick(1))], timeout=WAIT)[0]  # a stored run beside the killed one
    config = slow()
    job = queue.submit(config)
    queue.wait_for(job, lambda s: len(s.epochs) >= 1, timeout=WAIT)
    [pid] = queue.backend.worker_pids()
    os.kill(pid, signal.SIGKILL)
    snap = queue.wait([job], timeout=WAIT)[0]
    assert snap.state == "failed"
    assert snap.error == "the worker process training it ended unexpectedly: killed by signal 9 (SIGKILL)"
    assert store.get(config.run_id) is None
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("SELECT state FROM jobs WHERE job_id = ?", (job,)).fetchone() == ("failed",)
    # Only the stored run's files: nothing half-written, nothing of the killed training.
    assert sorted(p.name for p in store.files.iterdir()) == sorted(
        f"{kept.config.run_id}.{part}.safetensors" for part in ("epochs", "results", "weights"))
    assert gone(pid)
    # A fresh worker serves the next training.
    assert queue.wait([queue.submit(quick(2))], timeout=WAIT)[0].state == "done"
    assert queue.backend.worker_pids() != [pid]
    queue.close()


def test_idle_workers_end_and_a_new_one_starts_when_needed(store):
    backend = ProcessBackend(slots=1, idle_seconds=0)
    queue = JobQueue(store, max_running=1, backend=backend)
    queue.wait([queue.submit(quick(1))], timeout=WAIT)
    [pid] = backend.worker_pids()
    backend.tidy()  # what the queue's tidier does every few seconds
    assert backend.worker_pids() == [] and gone(pid)
    # Done although the only worker had ended: a new one was started for it. (Whether it is still
    # alive now is a race with the queue's own tidier, which ends idle workers at once here.)
    assert queue.wait([queue.submit(quick(2))], timeout=WAIT)[0].state == "done"
    queue.close()
    assert backend.worker_pids() == []


def test_close_stops_the_training_keeps_its_run_and_ends_the_workers(store):
    queue = JobQueue(store, max_running=1, backend="processes")
    config = slow()
    running, queued = queue.submit(config), queue.submit(quick(3))
    queue.wait_for(running, lambda s: len(s.epochs) >= 1, timeout=WAIT)
    [pid] = queue.backend.worker_pids()
    queue.close()
    assert [s.state for s in queue.wait([running, queued], timeout=WAIT)] == ["stopped", "interrupted"]
    assert store.get(config.run_id).status == "stopped"  # what it learned is kept
    assert gone(pid) and queue.backend.worker_pids() == []
    with pytest.raises(RuntimeError, match="the job queue is closed"):
        queue.submit(quick(4))
