"""The Ray executor: the same sweep through the local executor and a local Ray gives the same runs;
a training that fails on Ray is reported and the next goes on; progress streams back and a stop
cancels the task; a public copy never starts Ray; Ray is imported only when chosen.

One embedded Ray for the whole session (starting one takes tens of seconds on a busy machine).
"""

import subprocess
import sys

import numpy as np
import pytest

from nnapps.execution import executor_name
from nnapps.execution.jobs import JobQueue
from nnapps.store.runs import RunConfig, RunStore
from nnapps.sweeps.jobs import SweepRunner
from nnapps.sweeps.plan import Sweep

WAIT = 300


@pytest.fixture(scope="session")
def ray_session(own_dirs):
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-cluster.txt")
    with own_dirs("ray") as (_, mp):  # the workers keep the environment Ray started with
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20,
                 log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def backend(ray_session):
    from nnapps.execution.ray_backend import RayBackend

    made = RayBackend()  # joins the session's Ray, which it did not start and so leaves running
    assert not made.started and made.cpus() == 2
    yield made
    made.close()
    assert ray_session.is_initialized()


@pytest.mark.slow
def test_the_same_sweep_through_the_local_executor_and_ray_gives_the_same_runs(tmp_path, backend):
    sweep = Sweep.make("digits", ["mlp"], {"lr": "0.003,0.01", "width": "16", "epochs": "2"}, n_seeds=2)
    statuses = {}
    for name, chosen, slots in (("threads", "threads", 1), ("ray", backend, 2)):
        queue = JobQueue(RunStore(tmp_path / name), slots, chosen, close_backend=False)
        statuses[name] = SweepRunner(queue).run(sweep, timeout=WAIT)
        queue.close()
    local, ray = statuses["threads"], statuses["ray"]
    assert [t.state for t in ray.trials] == ["done"] * 4
    for a, b in zip(local.trials, ray.trials):
        assert a.run.run_id == b.run.run_id
        np.testing.assert_array_equal(a.run.test_proba, b.run.test_proba)
        assert [e.train_loss for e in a.run.history.epochs] == [e.train_loss for e in b.run.history.epochs]
    assert [r.to_dict() for r in local.results] == [r.to_dict() for r in ray.results]


@pytest.mark.slow
def test_a_failing_training_on_ray_is_reported_and_the_next_goes_on(tmp_path, backend):
    store = RunStore(tmp_path / "store")
    queue = JobQueue(store, 1, backend, close_backend=False)
    good = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1})
    # Past RunConfig.make's checks (as a stale link or another version might send): fails in the worker.
    bad = RunConfig(good.dataset, good.family, {**good.hparams, "activation": "sparkle"}, good.train)
    jobs = queue.wait([queue.submit(bad), queue.submit(good)], timeout=WAIT)
    queue.close()
    assert jobs[0].state == "failed" and "sparkle" in jobs[0].error
    assert jobs[1].state == "done" and store.get(good.run_id).status == "complete"
    assert len(jobs[1].epochs) == 1  # the epoch streamed back from the worker


@pytest.mark.slow
def test_a_stop_cancels_the_ray_task_and_frees_its_worker(tmp_path, backend):
    store = RunStore(tmp_path / "store")
    queue = JobQueue(store, 1, backend, close_backend=False)
    slow = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 200, "batch_size": 4, "patience": 0})
    job_id = queue.submit(slow)
    queue.wait_for(job_id, lambda job: len(job.epochs) >= 1, timeout=WAIT)
    queue.stop(job_id)
    stopped = queue.wait([job_id], timeout=WAIT)[0]
    assert stopped.state == "failed" and "cancelled" in stopped.error
    assert store.get(slow.run_id) is None
    quick = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1})
    assert queue.wait([queue.submit(quick)], timeout=WAIT)[0].state == "done"
    queue.close()


@pytest.mark.slow
def test_an_upload_reaches_the_ray_workers_through_the_object_store(tmp_path, backend):
    """The workers' data folder is the session's, which never saw this upload."""
    from nnapps.data import uploads

    table = tmp_path / "notes.csv"
    words = {"pos": "good great fine lovely", "neg": "bad awful poor dreadful"}
    table.write_text("text,label\n" + "".join(f"{words[label]} note {i},{label}\n"
                                               for i in range(60) for label in words))
    spec = uploads.store_path(table)
    assert spec.origin == "upload"
    store = RunStore(tmp_path / "store")
    queue = JobQueue(store, 1, backend, close_backend=False)
    config = RunConfig.make(spec.name, "boe", train={"epochs": 1})
    job = queue.wait([queue.submit(config)], timeout=WAIT)[0]
    queue.close()
    assert job.state == "done", job.error
    assert store.get(config.run_id).class_names == ["neg", "pos"]


def test_a_public_copy_never_starts_ray_by_itself(monkeypatch):
    from nnapps.execution.ray_backend import ray_address

    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    monkeypatch.delenv("NNAPPS_RAY_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="does not start Ray by itself"):
        ray_address()
    with pytest.raises(ValueError, match="does not start Ray by itself"):
        ray_address("local")
    assert ray_address("ray://head:10001") == "ray://head:10001"
    monkeypatch.setenv("NNAPPS_RAY_ADDRESS", "head:6379")
    assert ray_address() == "head:6379"


def test_an_address_alone_chooses_ray(monkeypatch):
    monkeypatch.delenv("NNAPPS_EXECUTOR", raising=False)
    monkeypatch.setenv("NNAPPS_RAY_ADDRESS", "auto")
    assert executor_name() == "ray"
    monkeypatch.setenv("NNAPPS_EXECUTOR", "threads")
    assert executor_name() == "threads"


def test_without_ray_the_message_says_how_to_install_it(monkeypatch, capsys):
    from nnapps import cli
    from nnapps.execution.ray_backend import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install -r requirements-cluster.txt"):
        import_ray()
    assert cli.main(["sweep", "--dataset", "digits", "--model", "mlp", "--executor", "ray"]) == 2
    assert "pip install -r requirements-cluster.txt" in capsys.readouterr().err


def test_nothing_imports_ray_unless_it_is_chosen():
    code = ("import sys, nnapps.cli, nnapps.execution.jobs, nnapps.sweeps.jobs, nnapps.execution\n"
            "from nnapps.execution import make_backend\n"
            "make_backend('threads', 1)\n"
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
