"""The job queue: order, de-duplication, stopping queued and running jobs, failures, positions."""

import time

import pytest

from nnapps.jobs import STATES, JobQueue
from nnapps.runs import RunConfig, RunStore


def quick(seed: int) -> RunConfig:
    return RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1, "seed": seed})


def slow(seed: int = 99) -> RunConfig:
    """A job that would train for minutes: tests stop it."""
    return RunConfig.make("digits", "mlp", {"width": 16},
                          {"epochs": 200, "batch_size": 4, "patience": 0, "seed": seed})


def wait_for(queue: JobQueue, job_id: int, condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = queue.snapshot(job_id)
        if condition(snap):
            return snap
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never reached the condition; last: {queue.snapshot(job_id)}")


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def test_max_running_must_be_positive(store):
    with pytest.raises(ValueError, match="max_running must be at least 1, got 0"):
        JobQueue(store, max_running=0)


def test_jobs_run_one_at_a_time_in_submission_order(store):
    queue = JobQueue(store, max_running=1)
    configs = [quick(seed) for seed in (3, 1, 2)]
    ids = [queue.submit(c, owner="me") for c in configs]
    assert ids == sorted(ids) and len(set(ids)) == 3
    most_running = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snaps = [queue.snapshot(j) for j in ids]
        most_running = max(most_running, sum(s.state == "running" for s in snaps))
        if all(s.finished for s in snaps):
            break
        time.sleep(0.002)
    jobs = queue.wait(ids, timeout=5)
    assert most_running == 1
    assert [j.state for j in jobs] == ["done"] * 3
    assert all(j.error is None and j.owner == "me" and j.message.startswith("test accuracy") for j in jobs)
    assert all(len(j.epochs) == 1 for j in jobs)
    created = [store.get(c.run_id).created for c in configs]
    assert created == sorted(created)  # trained in the order submitted, not by seed


def test_same_config_while_queued_is_one_job(store):
    queue = JobQueue(store, max_running=1)
    blocker = queue.submit(slow())
    wait_for(queue, blocker, lambda s: s.state == "running")
    first = queue.submit(quick(0))
    assert queue.submit(quick(0)) == first
    assert queue.submit(slow()) == blocker  # also while it trains
    other = queue.submit(quick(1))
    assert other != first
    queue.stop(blocker)
    jobs = queue.wait([blocker, first, other], timeout=60)
    assert [j.state for j in jobs] == ["stopped", "done", "done"]
    # Once finished, submitting again makes a new job, which finds the stored run.
    again = queue.submit(quick(0))
    assert again not in (first, other, blocker)
    assert queue.wait([again], timeout=30)[0].state == "done"


def test_stop_a_queued_job_cancels_it(store):
    queue = JobQueue(store, max_running=1)
    blocker = queue.submit(slow())
    wait_for(queue, blocker, lambda s: s.state == "running")
    config = quick(5)
    queued = queue.submit(config)
    queue.stop(queued)
    snap = queue.snapshot(queued)
    assert snap.state == "stopped" and snap.message == "cancelled before it started"
    queue.stop(blocker)
    jobs = queue.wait([blocker, queued], timeout=60)
    assert [j.state for j in jobs] == ["stopped", "stopped"]
    time.sleep(0.2)  # give a wrongly started job time to show itself
    assert queue.snapshot(queued).state == "stopped" and queue.snapshot(queued).epochs == []
    assert store.get(config.run_id) is None  # never trained


def test_stop_a_running_job_stores_a_stopped_run(store):
    queue = JobQueue(store, max_running=1)
    config = slow()
    job = queue.submit(config)
    wait_for(queue, job, lambda s: len(s.epochs) >= 1)  # it has learned something
    started = time.monotonic()
    queue.stop(job)
    snap = queue.wait([job], timeout=30)[0]
    assert time.monotonic() - started < 10  # ended after its step, not after 200 epochs
    assert snap.state == "stopped" and snap.error is None
    assert 1 <= len(snap.epochs) < 200
    run = store.get(config.run_id)
    assert run is not None and run.status == "stopped" and run.history.stopped_by_user
    assert run.metrics["accuracy"] > 0.5  # kept what it learned in its first epoch


def test_a_stopped_run_is_retrained_when_submitted_again(store):
    queue = JobQueue(store, max_running=1)
    config = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 3, "batch_size": 4, "seed": 7})
    job = queue.submit(config)
    wait_for(queue, job, lambda s: s.state == "running")
    queue.stop(job)
    assert queue.wait([job], timeout=30)[0].state == "stopped"
    assert store.get(config.run_id).status == "stopped"
    again = queue.submit(config)
    snap = queue.wait([again], timeout=60)[0]
    assert snap.state == "done" and len(snap.epochs) >= 1
    assert store.get(config.run_id).status == "complete"


def test_unknown_dataset_fails_with_a_clear_message(store):
    queue = JobQueue(store, max_running=1)
    # modality given, so the config is built and the failure comes from the job itself
    bad = queue.submit(RunConfig.make("no-such-dataset", "mlp", modality="image"))
    good = queue.submit(quick(0))
    bad_snap, good_snap = queue.wait([bad, good], timeout=60)
    assert bad_snap.state == "failed" and bad_snap.message == "failed"
    assert "unknown dataset 'no-such-dataset'" in bad_snap.error
    assert "'digits'" in bad_snap.error  # the valid names are listed
    assert good_snap.state == "done"  # one bad job does not stop the worker


def test_an_unexpected_error_fails_the_job_in_one_line_and_logs_the_traceback(store, monkeypatch, caplog):
    from nnapps import jobs

    real_train_run = jobs.train_run

    def train_run(config, *args, **kwargs):
        if config.hparams["width"] == 7:
            raise RuntimeError("the kernel fell over")
        return real_train_run(config, *args, **kwargs)

    monkeypatch.setattr(jobs, "train_run", train_run)
    queue = JobQueue(store, max_running=1)
    bad = queue.submit(RunConfig.make("digits", "mlp", {"width": 7}, train={"epochs": 1}))
    good = queue.submit(quick(0))
    bad_snap, good_snap = queue.wait([bad, good], timeout=60)
    assert bad_snap.state == "failed" and bad_snap.error == "RuntimeError: the kernel fell over"
    assert good_snap.state == "done"
    assert any("failed" in r.message and r.exc_info for r in caplog.records if r.name == "nnapps.jobs")


def test_position_counts_queued_jobs_ahead(store):
    queue = JobQueue(store, max_running=1)
    blocker = queue.submit(slow())
    wait_for(queue, blocker, lambda s: s.state == "running")
    a, b, c = (queue.submit(quick(seed)) for seed in (10, 11, 12))
    assert [queue.position(j) for j in (blocker, a, b, c)] == [0, 0, 1, 2]
    queue.stop(b)
    assert [queue.position(j) for j in (a, b, c)] == [0, 0, 1]
    assert queue.position(12345) == 0
    for j in (a, c, blocker):
        queue.stop(j)
    queue.wait([blocker, a, b, c], timeout=60)


def test_stored_run_is_not_trained_again(store):
    queue = JobQueue(store, max_running=1)
    config = quick(4)
    first = queue.wait([queue.submit(config)], timeout=60)[0]
    created = store.get(config.run_id).created
    second = queue.wait([queue.submit(config)], timeout=60)[0]
    assert second.state == "done" and second.epochs == first.epochs
    assert store.get(config.run_id).created == created


def test_snapshot_is_a_copy_and_unknown_ids(store):
    queue = JobQueue(store, max_running=1)
    job = queue.submit(quick(8))
    snap = queue.snapshot(job)
    assert snap.state in STATES and snap.total_epochs == 1
    snap.state = "failed"
    snap.epochs.append("not a real epoch")
    assert queue.snapshot(job).state != "failed"
    assert "not a real epoch" not in queue.snapshot(job).epochs
    assert queue.snapshot(999) is None
    queue.stop(999)  # unknown: nothing happens
    queue.wait([job], timeout=60)


def test_wait_times_out(store):
    queue = JobQueue(store, max_running=1)
    job = queue.submit(slow())
    with pytest.raises(TimeoutError, match=rf"jobs \[{job}\] did not finish"):
        queue.wait([job], timeout=0.2)
    queue.stop(job)
    queue.wait([job], timeout=30)


def test_two_slots_train_two_jobs_at_once(store):
    queue = JobQueue(store, max_running=2)
    a, b = queue.submit(slow(1)), queue.submit(slow(2))
    wait_for(queue, a, lambda s: s.state == "running")
    wait_for(queue, b, lambda s: s.state == "running")
    for j in (a, b):
        queue.stop(j)
    assert [s.state for s in queue.wait([a, b], timeout=30)] == ["stopped", "stopped"]


def test_runs_trained_side_by_side_give_the_numbers_of_a_run_alone(tmp_path):
    """Weights, shuffling and dropout use no shared random state, so threads do not disturb a run."""
    config = RunConfig.make("digits", "mlp", {"width": 32, "dropout": 0.2}, {"epochs": 2, "seed": 3})
    neighbour = RunConfig.make("digits", "mlp", {"width": 32, "dropout": 0.2}, {"epochs": 2, "seed": 4})
    alone_store = RunStore(tmp_path / "alone")
    alone = JobQueue(alone_store, max_running=1)
    alone.wait([alone.submit(config)], timeout=60)

    together_store = RunStore(tmp_path / "together")
    together = JobQueue(together_store, max_running=2)
    ids = [together.submit(neighbour), together.submit(config)]
    assert [j.state for j in together.wait(ids, timeout=60)] == ["done", "done"]
    a, b = alone_store.get(config.run_id), together_store.get(config.run_id)
    assert [e.train_loss for e in a.history.epochs] == [e.train_loss for e in b.history.epochs]
    assert (a.test_proba == b.test_proba).all()
    assert not (together_store.get(neighbour.run_id).test_proba == b.test_proba).all()
