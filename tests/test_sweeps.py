"""Sweeps: values and trials from a definition, trials equal to runs trained one by one, a re-run
that trains nothing, a stopped sweep that resumes with only what is missing, failed trials
reported while the others go on, mean ± std per config, and the sweep command.

No test sleeps: each waits on the job queue's condition (wait, wait_for) or on an Event.
"""

import json
import os
import signal
import statistics
import threading

import numpy as np
import pytest

from nnapps import cli
from nnapps.execution import TrainingFailed, make_backend
from nnapps.execution.jobs import JobQueue
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.sweeps.jobs import SweepRunner
from nnapps.sweeps.plan import Sweep, parse_values, summarize, trials, validation_accuracy

WAIT = 300  # seconds, for a busy machine
# A trial that would train for minutes: tests stop it (or kill its worker).
SLOW = {"batch_size": "4", "patience": "0"}


class Recording:
    """A backend that records what it was asked to train, and trains it with inner (or refuses)."""

    def __init__(self, inner=None):
        self.inner, self.name = inner, "recording"
        self.trained: list[str] = []
        self.started = threading.Event()

    def execute(self, training, report, should_stop):
        self.trained.append(training.config.run_id)
        self.started.set()
        if self.inner is None:
            raise TrainingFailed("this backend trains nothing", expected=True)
        return self.inner.execute(training, report, should_stop)

    def tidy(self):
        pass

    def worker_pids(self):
        return self.inner.worker_pids() if self.inner else []

    def close(self):
        if self.inner is not None:
            self.inner.close()


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def queue_on(store, backend) -> JobQueue:
    return JobQueue(store, 1, backend)


# Values and trials.

def test_values_are_lists_or_ranges():
    assert parse_values("lr", "0.0003, 0.001,0.003") == ("0.0003", "0.001", "0.003")
    np.testing.assert_allclose(parse_values("lr", "log:1e-4:1e-2:5"), np.geomspace(1e-4, 1e-2, 5), rtol=1e-5)
    np.testing.assert_allclose(parse_values("dropout", "lin:0:0.5:3"), np.linspace(0, 0.5, 3))
    assert parse_values("width", "lin:16:128:3") == (16, 72, 128)  # an integer setting is rounded
    assert parse_values("width", "log:16:256:5") == (16, 32, 64, 128, 256)
    assert parse_values("width", "lin:1:2:5") == (1, 2)  # duplicates after rounding are dropped


@pytest.mark.parametrize("text, message", [("log:0:1:3", "above 0"), ("lin:1:2", "lin:LOW:HIGH:COUNT"),
                                           ("lin:a:2:3", "must be numbers"), ("lin:1:2:0", "at least 1"),
                                           (" , ", "at least one value")])
def test_bad_values_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_values("lr", text)


def test_trials_are_the_grid_times_the_seeds():
    sweep = Sweep.make("digits", ["mlp"], {"lr": "0.001,0.01", "width": "16,32,64", "epochs": "1"}, n_seeds=3)
    found = trials(sweep)
    assert len(found) == 2 * 3 * 3
    assert {(t.settings["lr"], t.settings["width"]) for t in found} == {
        (lr, w) for lr in (0.001, 0.01) for w in (16, 32, 64)}
    assert [t.seed for t in found[:3]] == [0, 1, 2]
    assert all(t.config.train["seed"] == t.seed and t.config.train["epochs"] == 1 for t in found)
    assert len({t.config.run_id for t in found}) == len(found)
    assert len({t.group for t in found}) == 6  # configs without the seed
    one = trials(sweep)[4].config
    assert one == RunConfig.make("digits", "mlp", {"width": 32}, {"lr": 0.001, "epochs": 1, "seed": 1})


def test_a_setting_a_family_does_not_take_is_not_varied_for_it():
    sweep = Sweep.make("digits", ["mlp", "cnn"], {"width": "16,32", "epochs": "1"})
    by_family = {f: [t for t in trials(sweep) if t.family == f] for f in ("mlp", "cnn")}
    assert len(by_family["mlp"]) == 2 and len(by_family["cnn"]) == 1


def test_a_scikit_learn_model_ignores_training_settings_and_is_trained_once():
    found = trials(Sweep.make("digits", ["logreg", "mlp"], {"lr": "0.001,0.01", "epochs": "1"}, n_seeds=2))
    logreg = [t for t in found if t.family == "logreg"]
    assert [(t.settings, t.seed) for t in logreg] == [({}, 0), ({}, 1)]
    assert len([t for t in found if t.family == "mlp"]) == 4


def test_more_trials_than_the_limit_are_refused_before_any_is_queued(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_SWEEP_TRIALS", "3")
    queue = queue_on(store, Recording())
    with pytest.raises(ValueError, match=r"4 trials in one sweep asked for.*NNAPPS_MAX_SWEEP_TRIALS"):
        SweepRunner(queue).start(Sweep.make("digits", ["mlp"], {"lr": "0.001,0.01"}, n_seeds=2))
    queue.close()
    assert queue.snapshot(1) is None


def test_a_random_sample_is_a_fixed_subset_of_the_grid():
    settings = {"lr": "log:1e-4:1e-2:5", "width": "16,32,64", "epochs": "1"}
    grid = {t.config.run_id for t in trials(Sweep.make("digits", ["mlp"], settings))}
    sample = [t.config.run_id for t in trials(Sweep.make("digits", ["mlp"], settings, sample=4, sample_seed=1))]
    assert len(sample) == 4 and set(sample) <= grid
    assert sample == [t.config.run_id for t in trials(Sweep.make("digits", ["mlp"], settings, sample=4,
                                                                  sample_seed=1))]


def test_bad_definitions_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="unknown setting"):
        Sweep.make("digits", ["mlp"], {"widht": "16,32"})
    with pytest.raises(ValueError, match="either seed values or a seeds count"):
        Sweep.make("digits", ["mlp"], {"seed": "1,2"}, n_seeds=2)
    with pytest.raises(ValueError, match="apply to none of"):
        trials(Sweep.make("digits", ["mlp"], {"tokenizer": "char"}))
    bad = trials(Sweep.make("digits", ["mlp"], {"lr": "0.001,7", "epochs": "1"}))
    assert bad[0].error is None and bad[1].config is None and "lr must be between" in bad[1].error


# Running sweeps.

def test_a_sweeps_trials_equal_the_runs_trained_one_by_one(tmp_path, store):
    sweep = Sweep.make("digits", ["mlp"], {"lr": "0.003,0.01", "width": "16", "epochs": "2"}, n_seeds=2)
    queue = queue_on(store, "threads")
    status = SweepRunner(queue).run(sweep, timeout=WAIT)
    queue.close()
    assert status.state == "done" and status.counts()["done"] == 4
    alone = RunStore(tmp_path / "alone")
    for t in status.trials:
        direct = train_run(t.trial.config, alone)
        assert t.run.run_id == direct.run_id and not t.cached
        np.testing.assert_array_equal(t.run.test_proba, direct.test_proba)
        assert [e.val_acc for e in t.run.history.epochs] == [e.val_acc for e in direct.history.epochs]
    # Per config: mean and sample std over its seeds, best by mean validation accuracy.
    results = status.results
    assert [r.n_seeds for r in results] == [2, 2]
    for r in results:
        runs = [alone.get(run_id) for run_id in r.run_ids]
        assert r.val_mean == pytest.approx(np.mean([validation_accuracy(run) for run in runs]))
        assert r.val_std == pytest.approx(np.std([validation_accuracy(run) for run in runs], ddof=1))
        assert r.test_std == pytest.approx(np.std([run.metrics["accuracy"] for run in runs], ddof=1))
    assert results[0].val_mean >= results[1].val_mean and status.best == results[0]


def test_running_a_sweep_again_trains_nothing(store):
    sweep = Sweep.make("digits", ["mlp"], {"lr": "0.003,0.01", "width": "16", "epochs": "1"}, n_seeds=2)
    first = Recording(make_backend("threads", 1))
    queue = queue_on(store, first)
    before = SweepRunner(queue).run(sweep, timeout=WAIT)
    queue.close()
    assert len(first.trained) == 4
    again = Recording()
    queue = queue_on(store, again)
    status = SweepRunner(queue).run(sweep, timeout=WAIT)
    queue.close()
    assert again.trained == []
    assert [t.state for t in status.trials] == ["done"] * 4 and all(t.cached for t in status.trials)
    assert [r.to_dict() for r in status.results] == [r.to_dict() for r in before.results]


def test_a_stopped_sweep_resumes_training_only_what_is_missing(store):
    # Trials 0 and 1 train one epoch; trial 2 trains until stopped; trial 3 never starts.
    sweep = Sweep.make("digits", ["mlp"], {"epochs": "1,200", "lr": "0.003,0.01", "width": "16", **SLOW})
    queue = queue_on(store, "threads")
    runner = SweepRunner(queue)
    sweep_id = runner.start(sweep, owner="me")
    slow_job = runner.book.trial_rows(sweep_id)[2][0]
    queue.wait_for(slow_job, lambda job: len(job.epochs) >= 1, timeout=WAIT)
    runner.stop(sweep_id)
    status = runner.wait(sweep_id, timeout=WAIT)
    queue.close()
    assert status.state == "stopped"
    assert [t.state for t in status.trials] == ["done", "done", "stopped", "stopped"]
    assert store.get(status.trials[2].trial.config.run_id).status == "stopped"
    assert runner.listing("me")[0][0] == sweep_id and runner.listing("someone else") == []

    # A new queue (as after a restart) on the same store: the sweep is found, and starting it
    # again asks the executor for exactly the two missing trials.
    recording = Recording()
    queue = queue_on(store, recording)
    runner = SweepRunner(queue)
    assert runner.status(sweep_id).state == "stopped"
    assert runner.start(sweep, owner="me") == sweep_id
    status = runner.wait(sweep_id, timeout=WAIT)
    queue.close()
    assert sorted(recording.trained) == sorted(t.trial.config.run_id for t in status.trials[2:])
    assert [t.state for t in status.trials] == ["done", "done", "failed", "failed"]
    assert status.trials[0].cached and status.trials[2].error == "this backend trains nothing"


@pytest.mark.slow
def test_a_failing_trial_is_reported_and_the_others_go_on(store):
    """A bad setting never trains; a worker killed mid-training fails its trial; the rest train."""
    sweep = Sweep.make("digits", ["mlp"], {"epochs": "200,1", "lr": "0.003,7", "width": "16", **SLOW})
    backend = make_backend("processes", 1)
    queue = queue_on(store, backend)
    runner = SweepRunner(queue)
    sweep_id = runner.start(sweep)
    slow_job = runner.book.trial_rows(sweep_id)[0][0]
    queue.wait_for(slow_job, lambda job: len(job.epochs) >= 1, timeout=WAIT)
    os.kill(backend.worker_pids()[0], signal.SIGKILL)
    status = runner.wait(sweep_id, timeout=WAIT)
    queue.close()
    states = [(t.state, t.error) for t in status.trials]
    assert states[0][0] == "failed" and "killed by signal 9" in states[0][1]
    assert states[1] == ("failed", "lr must be between 1e-05 and 1.0, got 7.0")
    assert states[2] == ("done", None) and states[3][0] == "failed"
    assert status.state == "done" and status.best.settings == {"epochs": 1, "lr": 0.003}


def test_summaries_leave_out_missing_and_stopped_runs():
    sweep = Sweep.make("digits", ["mlp"], {"lr": "0.003,0.01", "epochs": "1"}, n_seeds=2)
    assert summarize(trials(sweep), {}) == []


# The command line.

def test_sweep_command_prints_trials_and_the_best_config(capsys, monkeypatch):
    monkeypatch.setenv("NNAPPS_EXECUTOR", "threads")
    argv = ["sweep", "--dataset", "digits", "--model", "mlp", "--set", "lr=log:3e-3:3e-2:2",
            "--set", "width=16", "--seeds", "2", "--epochs", "1", "--parallel", "1", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [t["state"] for t in out["trials"]] == ["done"] * 4
    assert all(len(t["run_id"]) == 16 and 0 <= t["accuracy"] <= 1 for t in out["trials"])
    by_lr = {}
    for t in out["trials"]:
        by_lr.setdefault(t["settings"]["lr"], []).append(t["val_accuracy"])
    best_lr = max(by_lr, key=lambda lr: statistics.fmean(by_lr[lr]))
    assert out["best"]["settings"] == {"lr": best_lr}  # width has one value: fixed, not varied
    assert out["best"]["val_mean"] == pytest.approx(statistics.fmean(by_lr[best_lr]))
    assert cli.main(argv) == 0  # a second time: answered from the store
    assert all(t["cached"] for t in json.loads(capsys.readouterr().out)["trials"])


@pytest.mark.parametrize("argv, message", [
    (["--set", "lr=lin:1:2"], "lin:LOW:HIGH:COUNT"),
    (["--set", "colour=1,2"], "unknown setting"),
    (["--seeds", "0"], "seeds must be at least 1"),
])
def test_bad_sweep_options_exit_2_with_a_message(capsys, argv, message):
    assert cli.main(["sweep", "--dataset", "digits", "--model", "mlp", *argv]) == 2
    assert message in capsys.readouterr().err


def test_parallel_coordinates_place_each_setting_in_order_and_accuracy_on_its_own_axis():
    from nnapps.charts.sweeps import METRIC, parallel_coordinates, results_frame
    from nnapps.sweeps.plan import ConfigResult

    results = [ConfigResult("mlp", {"lr": lr, "activation": act}, ["a", "b"], val, 0.01, val, 0.02)
               for lr, act, val in ((0.01, "relu", 0.9), (0.0001, "tanh", 0.5), (0.001, "relu", 0.7))]
    chart = parallel_coordinates(results, ["lr", "activation"])
    frame = chart.data if hasattr(chart.data, "itertuples") else chart.layer[0].data  # Altair may hoist it
    places = {(row.axis, row.value): row.place for row in frame.itertuples()}
    assert [places[("lr", v)] for v in ("0.0001", "0.001", "0.01")] == [0.0, 0.5, 1.0]
    assert places[("activation", "relu")] == 0.0 and places[("activation", "tanh")] == 1.0
    assert places[(METRIC, "50.00%")] == 0.0 and places[(METRIC, "90.00%")] == 1.0
    assert places[(METRIC, "70.00%")] == pytest.approx(0.5)
    table = results_frame(results, ["lr", "activation"])
    assert list(table.columns) == ["model", "lr", "activation", "val mean", "val std", "test mean", "test std",
                                   "seeds"]
    assert list(table["seeds"]) == [2, 2, 2]
