"""Benchmark of what Compare's epoch scrubber costs: training with per-epoch test probabilities
kept (epochs.SnapshotRecorder) against the same training without, and the bytes they take."""

import time

from .suite import _median_times
from nnapps.data import load_dataset
from nnapps.analysis.epochs import SnapshotRecorder
from nnapps.features import make_preprocessor
from nnapps.training.pipeline import build_model, predict_proba
from nnapps.store.runs import RunConfig
from nnapps.training.loop import TensorData, TrainConfig, fit


def snapshot_overhead(dataset: str, family: str, epochs: int, repeats: int) -> dict:
    """Median seconds of fit with and without the recorder, same model and batches; the ratio."""
    ds = load_dataset(dataset, 0)
    config = RunConfig.make(dataset, family)
    pre = make_preprocessor(ds.spec.modality, config.features, ds.spec.sample_rate).fit(ds.X_train)
    data = TensorData.from_numpy(pre.transform(ds.X_train), ds.y_train, pre.transform(ds.X_val), ds.y_val)
    X_test = pre.transform(ds.X_test)
    train = TrainConfig.from_dict({**config.train, "epochs": epochs, "patience": 0})
    kept = {}

    def timed(record: bool) -> float:
        model = build_model(config, pre.input_info(), ds.n_classes)
        recorder = SnapshotRecorder(epochs, lambda: predict_proba(model, X_test, ds.n_classes)) if record else None
        t0 = time.perf_counter()
        fit(model, data, train, on_epoch=recorder)
        seconds = time.perf_counter() - t0
        if recorder is not None:
            kept["bytes"] = int(recorder.result()["proba"].nbytes)
        return seconds

    t = _median_times({"with": lambda: timed(True), "without": lambda: timed(False)}, repeats)
    final_bytes = len(ds.y_test) * ds.n_classes * 4  # the stored float32 test probabilities
    return {"dataset": dataset, "model": family, "epochs": epochs, "with_s": t["with"], "without_s": t["without"],
            "ratio": t["with"] / t["without"], "snapshot_bytes": kept["bytes"],
            "snapshot_bytes_per_final_proba_bytes": kept["bytes"] / final_bytes}
