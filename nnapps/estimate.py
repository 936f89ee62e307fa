"""Training-time estimates: the real model trained for a moment on this machine, scaled to the data.

Before a training starts, a few batches of random inputs of the run's shape go through the
same loop (training.fit) the run will use; the second epoch's time per batch, times the
batches of the real dataset and its epochs, is the estimate. Once a training runs, its own
epochs' times replace the guess (time_left).
"""

from collections import OrderedDict
from dataclasses import dataclass

import torch

from .models.family import InputInfo
from .runs import RunConfig
from .training import TensorData, TrainConfig, fit

CALIBRATION_BATCHES = 3   # per calibration epoch: enough to see the per-batch cost, a moment to run
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


def _seconds_per_item(config: RunConfig, inputs: InputInfo, n_classes: int) -> tuple[float, int] | None:
    """Seconds per training item (its step plus its share of validation) and the parameter
    count, measured once per process for each config; None for a scikit-learn baseline."""
    from .pipeline import build_model  # the pipeline pulls in the datasets: only when asked

    key = (config.run_id, inputs, n_classes)
    if key in _calibrations:
        _calibrations.move_to_end(key)
        return _calibrations[key]
    model = build_model(config, inputs, n_classes)
    if not isinstance(model, torch.nn.Module):
        return None
    train = TrainConfig.from_dict({**config.train, "epochs": 2, "patience": 0})
    n = train.batch_size * CALIBRATION_BATCHES
    generator = torch.Generator().manual_seed(0)
    if inputs.vocab_size:
        X = torch.randint(0, inputs.vocab_size, (2 * n, *inputs.shape), generator=generator)
    else:
        X = torch.randn((2 * n, *inputs.shape), generator=generator)
    y = torch.randint(0, n_classes, (2 * n,), generator=generator)
    # As many validation items as training ones, so each epoch's time is per training item
    # plus one validation item: the ratio of the real splits is applied in estimate().
    history = fit(model, TensorData(X[:n], y[:n], X[n:], y[n:]), train)
    result = (history.epochs[-1].seconds / n, sum(p.numel() for p in model.parameters()))
    _calibrations[key] = result
    if len(_calibrations) > MAX_CACHED:
        _calibrations.popitem(last=False)
    return result


def estimate(config: RunConfig, inputs: InputInfo, n_classes: int, n_train: int, n_val: int) -> Estimate | None:
    """The time config should take to train on n_train items (validated on n_val) here; None
    for a scikit-learn baseline, whose solver has no epochs to measure."""
    measured = _seconds_per_item(config, inputs, n_classes)
    if measured is None:
        return None
    per_item, n_params = measured
    # A validation item costs a forward pass, about a third of a training item's step, so of
    # the measured time per pair 3/4 is the training item's and 1/4 the validation item's.
    return Estimate(seconds_per_epoch=per_item * (3 * n_train + n_val) / 4,
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
