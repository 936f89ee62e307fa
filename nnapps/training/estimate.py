"""Training-time estimates: the real model trained for a moment on this machine, scaled to the data.

Before a training starts, a few real training items go through the same loop (training.fit)
the run will use, in epochs of one batch and of several: the difference gives the time per
item, the rest the time every epoch takes whatever its size; scaled to the dataset and its
epochs, that is the estimate. Once a training runs, its own epochs' times replace the guess
(time_left).
"""

import os
from collections import OrderedDict
from dataclasses import dataclass

import torch

from nnapps.models.family import InputInfo
from nnapps.store.runs import RunConfig
from nnapps.training.loop import TensorData, TrainConfig, fit

CALIBRATION_BATCHES = 4   # batches in the larger calibration epoch (the smaller has one)
CALIBRATION_EPOCHS = 3    # the first warms up; the fastest of the others counts
MAX_CACHED = 64           # calibrations kept per process


@dataclass(frozen=True)
class Estimate:
    """How long a training should take here: seconds per epoch and for every epoch (early
    stopping may end it sooner), with the model's parameter count."""

    seconds_per_epoch: float
    epochs: int
    n_params: int

    @property
    def seconds(self) -> float:
        return self.seconds_per_epoch * self.epochs


_calibrations: OrderedDict = OrderedDict()


def _epoch_seconds(config: RunConfig, inputs: InputInfo, n_classes: int, X: torch.Tensor,
                   y: torch.Tensor, n_items: int) -> tuple[float, int] | None:
    """The fastest of a few epochs over the first n_items of X (validating on one batch), and
    the parameter count; None for a scikit-learn baseline."""
    from nnapps.training.pipeline import build_model  # the pipeline pulls in the datasets: only when asked

    model = build_model(config, inputs, n_classes)
    if not isinstance(model, torch.nn.Module):
        return None
    train = TrainConfig.from_dict({**config.train, "epochs": CALIBRATION_EPOCHS, "patience": 0})
    idx = torch.arange(n_items) % len(X)  # a small dataset is cycled
    val = torch.arange(min(train.batch_size, len(X)))
    # With as many threads as a worker would use (one for a small model): torch's setting is
    # the process's, so it is put back.
    threads = torch.get_num_threads()
    try:
        history = fit(model, TensorData(X[idx], y[idx], X[val], y[val]), train, threads=os.cpu_count() or 1)
    finally:
        torch.set_num_threads(threads)
    # The first epoch warms caches up; the fastest later one is the least disturbed.
    return min(e.seconds for e in history.epochs[1:]), sum(p.numel() for p in model.parameters())


def _calibrate(config: RunConfig, inputs: InputInfo, n_classes: int, X: torch.Tensor,
               y: torch.Tensor) -> tuple[float, float, int] | None:
    """Seconds per training item, seconds per epoch whatever its size (the per-layer statistics,
    validation's set-up) and the parameter count, from epochs of one and of several batches:
    their difference is the cost of the extra batches alone. Once per config and process."""
    key = (config.run_id, inputs, n_classes)
    if key in _calibrations:
        _calibrations.move_to_end(key)
        return _calibrations[key]
    batch = int(config.train.get("batch_size", 64))
    small = _epoch_seconds(config, inputs, n_classes, X, y, batch)
    if small is None:
        return None
    large, n_params = _epoch_seconds(config, inputs, n_classes, X, y, batch * CALIBRATION_BATCHES)
    per_item = max(large - small[0], 0.0) / (batch * (CALIBRATION_BATCHES - 1))
    fixed = max(small[0] - per_item * batch, 0.0)
    _calibrations[key] = result = (per_item, fixed, n_params)
    if len(_calibrations) > MAX_CACHED:
        _calibrations.popitem(last=False)
    return result


def estimate(config: RunConfig, inputs: InputInfo, n_classes: int, X: torch.Tensor, y: torch.Tensor,
             n_train: int, n_val: int) -> Estimate | None:
    """The time config should take to train on n_train items (validated on n_val) here; X, y:
    real preprocessed training items to calibrate on (a text's real length matters to a
    recurrent network). None for a scikit-learn baseline, whose solver has no epochs."""
    measured = _calibrate(config, inputs, n_classes, X, y)
    if measured is None:
        return None
    per_item, fixed, n_params = measured
    # A validation item costs a forward pass, about a third of a training item's step.
    return Estimate(seconds_per_epoch=fixed + per_item * (n_train + n_val / 3),
                    epochs=int(config.train.get("epochs", 1)), n_params=n_params)


def time_left(epoch_seconds: list[float], total_epochs: int) -> float:
    """Seconds left for a training that has run len(epoch_seconds) of total_epochs epochs, at
    the pace of its last few epochs (the first is often slower while caches warm)."""
    if not epoch_seconds:
        raise ValueError("time_left needs at least one finished epoch")
    recent = epoch_seconds[-3:]
    return sum(recent) / len(recent) * max(total_epochs - len(epoch_seconds), 0)


def in_words(seconds: float) -> str:
    """'about 40 s', 'about 3 min': as precise as an estimate deserves."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {round(seconds, -1):.0f} s"
    return f"about {round(seconds / 60):.0f} min"
