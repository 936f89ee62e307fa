"""Calibration: reliability bins and ECE against a reference written here."""

import numpy as np
import pytest

from nnapps.analysis.calibration import expected_calibration_error, reliability_bins


def reference_ece(y, proba, n_bins):
    """ECE as Guo et al. (2017) define it: bins (lo, hi] of confidence, sum of |B|/n * |acc - conf|."""
    conf = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if lo == 0:
            inside |= conf == 0
        if inside.any():
            total += inside.mean() * abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
    return total


def random_case(seed, n=500, k=4, temperature=1.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k)) / temperature
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # Labels drawn from the model's own probabilities: a calibrated model, for temperature 1.
    y = np.array([rng.choice(k, p=p) for p in proba])
    return y, proba


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_matches_the_reference(seed, n_bins):
    y, proba = random_case(seed, temperature=0.5)
    assert expected_calibration_error(y, proba, n_bins) == pytest.approx(reference_ece(y, proba, n_bins), abs=1e-12)


def test_bins_count_every_sample_and_sit_in_their_range():
    y, proba = random_case(3)
    bins = reliability_bins(y, proba, 10)
    assert sum(b["count"] for b in bins) == len(y)
    assert all(b["lo"] < b["confidence"] <= b["hi"] for b in bins)
    right = proba.argmax(1) == y
    top = [b for b in bins if b["hi"] == 1.0][0]
    inside = proba.max(1) > 0.9
    assert top["count"] == inside.sum() and top["accuracy"] == pytest.approx(right[inside].mean())


def test_a_calibrated_model_has_a_small_ece_and_an_overconfident_one_a_large_one():
    y, proba = random_case(4, n=20000)
    assert expected_calibration_error(y, proba) < 0.02
    sharp = proba ** 4 / (proba ** 4).sum(axis=1, keepdims=True)  # same predictions, too sure
    assert expected_calibration_error(y, sharp) > 0.1


def test_one_hot_predictions_sit_at_the_edges():
    y = np.array([0, 1, 1, 0])
    proba = np.eye(2)[[0, 1, 0, 0]]
    assert reliability_bins(y, proba, 4) == [{"lo": 0.75, "hi": 1.0, "count": 4, "confidence": 1.0, "accuracy": 0.75}]
    assert expected_calibration_error(y, proba, 4) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="n_bins"):
        reliability_bins(y, proba, 0)
