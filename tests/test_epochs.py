"""Per-epoch test probabilities: which epochs are kept, the replay at epoch k, forgetting."""

import numpy as np
import pytest

from nnapps.analysis.epochs import MAX_SNAPSHOTS, SnapshotRecorder, forgetting, proba_at, run_at, snapshot_epochs
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.training.loop import EpochStats


def test_every_epoch_is_kept_up_to_the_limit_then_log_spaced():
    assert snapshot_epochs(1) == [1]
    assert snapshot_epochs(MAX_SNAPSHOTS) == list(range(1, MAX_SNAPSHOTS + 1))
    for n_epochs in (31, 100, 200):
        kept = snapshot_epochs(n_epochs)
        assert len(kept) == MAX_SNAPSHOTS and kept == sorted(set(kept))
        assert kept[0] == 1 and kept[-1] == n_epochs
        gaps = np.diff(kept)
        assert gaps[:5].max() <= gaps[-5:].min()  # dense early, sparse late


def stats(epoch):
    return EpochStats(epoch, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_recorder_keeps_the_schedule_and_the_last_epoch():
    calls, passed = [], []
    recorder = SnapshotRecorder(100, lambda: np.full((2, 3), float(len(calls))), then=passed.append)

    def epoch(e):
        calls.append(e)
        recorder(stats(e))
    for e in range(1, 38):  # stopped early at 37, which is not in the schedule
        epoch(e)
    out = recorder.result()
    assert [s.epoch for s in passed] == list(range(1, 38))
    expected = [e for e in snapshot_epochs(100) if e <= 37] + [37]
    assert out["epochs"].tolist() == sorted(set(expected))
    assert out["proba"].dtype == np.float16 and out["proba"].shape == (len(out["epochs"]), 2, 3)
    assert out["proba"][-1, 0, 0] == 37  # the last epoch's own probabilities
    assert SnapshotRecorder(5, lambda: np.zeros((1, 1))).result() is None


@pytest.fixture(scope="module")
def trained(own_dirs):
    with own_dirs("epochs") as (home, _):
        store = RunStore()
        last = train_run(RunConfig.make("digits", "mlp", train={"epochs": 5, "patience": 0}), store)
        best = train_run(RunConfig.make("digits", "mlp", train={"epochs": 12, "patience": 2, "lr": 0.05}), store)
        baseline = train_run(RunConfig.make("digits", "logreg"), store)
    return RunStore(home), last, best, baseline


def same_predictions(a, b):
    """Equal argmax, except where float16 cannot tell the top two apart."""
    top2 = np.sort(b, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-2
    return np.array_equal(a.argmax(1)[clear], b.argmax(1)[clear])


def test_the_last_epoch_replayed_is_the_final_result(trained):
    store, last, _, _ = trained
    snaps = store.snapshots(last.run_id)
    assert snaps["epochs"].tolist() == [1, 2, 3, 4, 5]
    replay = run_at(last, snaps, 5)
    np.testing.assert_allclose(replay.test_proba, last.test_proba, atol=1e-3)
    assert same_predictions(replay.test_proba, last.test_proba)
    assert replay.metrics["confusion"] == last.metrics["confusion"]
    assert replay.metrics["accuracy"] == pytest.approx(last.metrics["accuracy"])
    # Earlier epochs are earlier models; no epoch means the stored run itself.
    assert run_at(last, snaps, 1).metrics["accuracy"] < last.metrics["accuracy"]
    assert run_at(last, snaps, None) is last and run_at(last, None, 3) is last


def test_with_early_stopping_the_final_result_is_the_best_epoch(trained):
    store, _, best, baseline = trained
    snaps = store.snapshots(best.run_id)
    assert snaps["epochs"][-1] == len(best.history.epochs)
    np.testing.assert_allclose(proba_at(snaps, best.history.best_epoch), best.test_proba, atol=1e-3)
    assert store.snapshots(baseline.run_id) is None  # a solver has no epochs
    with pytest.raises(ValueError, match="first is epoch 1"):
        proba_at(snaps, 0)


def test_snapshots_count_in_the_store_size_and_go_with_the_run(trained):
    store, last, _, _ = trained
    path = store.files / f"{last.run_id}.epochs.safetensors"
    usage = {u.run_id: u.bytes for u in store.usage()}
    results, weights = (p.stat().st_size for p in store._paths(last.run_id))
    assert usage[last.run_id] == results + weights + path.stat().st_size
    # Compact: five epochs in float16, half the bytes of the final float32 probabilities each.
    assert path.stat().st_size < 5 * last.test_proba.nbytes / 2 + 1024
    assert store.delete(last.run_id) and not path.exists()


def test_forgetting_counts_right_to_wrong_flips():
    y = np.array([0, 1, 2])
    right, wrong = np.eye(3), np.roll(np.eye(3), 1, axis=1)
    # sample 0: right, wrong, right, wrong (2 flips);
    # 1: wrong, right, right, right (0); 2: right, right, right, wrong (1)
    proba = np.stack([np.stack([right[0], wrong[1], right[2]]), np.stack([wrong[0], right[1], right[2]]),
                      np.stack([right[0], right[1], right[2]]), np.stack([wrong[0], right[1], wrong[2]])])
    snaps = {"epochs": np.arange(1, 5), "proba": proba.astype(np.float16)}
    assert forgetting(y, snaps).tolist() == [2, 0, 1]
