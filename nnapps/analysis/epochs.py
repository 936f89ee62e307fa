"""When did it learn that: test probabilities kept at up to MAX_SNAPSHOTS epochs of a training
(float16), a run replayed as it was at epoch k, and the test samples it forgot on the way."""

from dataclasses import replace
from typing import Callable

import numpy as np

from nnapps.analysis.comparison import confusion_counts
from nnapps.store.runs import Run

MAX_SNAPSHOTS = 30


def snapshot_epochs(max_epochs: int, n: int = MAX_SNAPSHOTS) -> list[int]:
    """The epochs whose test probabilities are kept: every one up to n epochs, else n of them
    log-spaced (dense early, when most is learned, sparse later), always the first and max_epochs.
    The last epoch a training runs (early stopping, a stop) is kept as well."""
    if max_epochs <= n:
        return list(range(1, max_epochs + 1))
    spaced = np.unique(np.round(np.geomspace(1, max_epochs, n)).astype(int))
    # Rounding merges the early ones; fill the gaps from the start, where epochs are few.
    extra = [e for e in range(1, max_epochs + 1) if e not in set(spaced)][:n - len(spaced)]
    return sorted(set(spaced.tolist()) | set(extra))


class SnapshotRecorder:
    """An on_epoch hook: calls predict() (the model's (N, K) test probabilities now) at the
    scheduled epochs and at the last one, and keeps them as float16."""

    def __init__(self, max_epochs: int, predict: Callable[[], np.ndarray],
                 then: Callable | None = None):
        self.schedule = set(snapshot_epochs(max_epochs))
        self.predict = predict
        self.then = then
        self.kept: dict[int, np.ndarray] = {}

    def __call__(self, stats) -> None:
        # Any epoch may be the last (early stopping decides after this hook), so each is
        # measured; only the scheduled ones and the latest are kept.
        latest = max(self.kept) if self.kept else None
        if latest is not None and latest not in self.schedule:
            del self.kept[latest]
        self.kept[stats.epoch] = self.predict().astype(np.float16)
        if self.then is not None:
            self.then(stats)

    def result(self) -> dict[str, np.ndarray] | None:
        """{"epochs": (E,) int64, "proba": (E, N, K) float16}, or None if no epoch ran."""
        if not self.kept:
            return None
        epochs = sorted(self.kept)
        return {"epochs": np.array(epochs, dtype=np.int64), "proba": np.stack([self.kept[e] for e in epochs])}


def proba_at(snapshots: dict[str, np.ndarray], epoch: int) -> np.ndarray:
    """(N, K) probabilities as they were at the latest kept epoch not after epoch."""
    epochs = snapshots["epochs"]
    index = int(np.searchsorted(epochs, epoch, side="right")) - 1
    if index < 0:
        raise ValueError(f"no snapshot at or before epoch {epoch}; the first is epoch {int(epochs[0])}")
    return snapshots["proba"][index].astype(np.float32)


def run_at(run: Run, snapshots: dict[str, np.ndarray] | None, epoch: int | None) -> Run:
    """The run as it was at epoch (its test probabilities and confusion matrix); the final run
    when epoch is None, when it kept no snapshots, or before its first one."""
    if epoch is None or snapshots is None or epoch < int(snapshots["epochs"][0]):
        return run
    proba = proba_at(snapshots, epoch)
    confusion = confusion_counts(run.y_test, proba)
    return replace(run, test_proba=proba, metrics={**run.metrics, "confusion": confusion.tolist(),
                                                   "accuracy": float((proba.argmax(1) == run.y_test).mean())})


def forgetting(y_true: np.ndarray, snapshots: dict[str, np.ndarray]) -> np.ndarray:
    """(N,) how many times each test sample went from right to wrong between kept epochs."""
    right = snapshots["proba"].argmax(axis=2) == y_true[None, :]  # (E, N)
    return (right[:-1] & ~right[1:]).sum(axis=0)
