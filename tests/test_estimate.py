"""Training-time estimates: a moment of the real training loop, scaled to the dataset."""

import pytest
import torch

from nnapps.training import estimate as est
from nnapps.models.family import InputInfo
from nnapps.training.pipeline import build_model
from nnapps.store.runs import RunConfig

DIGITS = InputInfo(shape=(1, 8, 8))


def test_time_left_uses_the_pace_of_the_last_epochs():
    # The last three epochs took 4, 3 and 3 s: 10/3 s each for the 6 epochs left.
    assert est.time_left([9.0, 4.0, 3.0, 3.0], 10) == pytest.approx(20.0)
    assert est.time_left([2.0], 1) == 0.0
    with pytest.raises(ValueError, match="at least one"):
        est.time_left([], 5)


@pytest.mark.parametrize("seconds, words", [(3, "a few seconds"), (44, "about 40 s"), (150, "about 2 min")])
def test_in_words(seconds, words):
    assert est.in_words(seconds) == words


def items(n: int = 100):
    generator = torch.Generator().manual_seed(0)
    return torch.randn((n, 1, 8, 8), generator=generator), torch.randint(0, 10, (n,), generator=generator)


def test_estimate_counts_the_models_parameters_and_grows_with_the_data():
    config = RunConfig.make("digits", "mlp", {"width": 32}, {"epochs": 7})
    small = est.estimate(config, DIGITS, 10, *items(), n_train=1000, n_val=200)
    large = est.estimate(config, DIGITS, 10, *items(), n_train=4000, n_val=800)
    model = build_model(config, DIGITS, 10)
    assert small.n_params == sum(p.numel() for p in model.parameters())
    assert small.epochs == 7 and small.seconds == pytest.approx(7 * small.seconds_per_epoch)
    assert small.seconds_per_epoch > 0
    # One calibration per config and process: the same per-item and per-epoch costs, so the
    # difference is the extra items' alone.
    per_item, fixed, _ = est._calibrations[(config.run_id, DIGITS, 10)]
    assert large.seconds_per_epoch - small.seconds_per_epoch == pytest.approx(per_item * (3000 + 600 / 3))
    assert small.seconds_per_epoch == pytest.approx(fixed + per_item * (1000 + 200 / 3))


def test_a_scikit_learn_baseline_has_no_estimate():
    assert est.estimate(RunConfig.make("digits", "logreg"), DIGITS, 10, *items(), 1000, 200) is None
