"""Can its probabilities be trusted: reliability bins and expected calibration error."""

import numpy as np

N_BINS = 10


def reliability_bins(y_true: np.ndarray, proba: np.ndarray, n_bins: int = N_BINS) -> list[dict]:
    """Test samples binned by confidence (the probability of the predicted class) into n_bins
    equal bins of [0, 1]; per non-empty bin: lo, hi, count, confidence (mean) and accuracy.

    A calibrated model's accuracy in each bin equals its mean confidence there.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = proba.max(axis=1).astype(np.float64)
    right = proba.argmax(axis=1) == y_true
    # Bin b holds (b/n, (b+1)/n]; a confidence of exactly 0 joins the first bin.
    which = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        inside = which == b
        if inside.any():
            out.append({"lo": b / n_bins, "hi": (b + 1) / n_bins, "count": int(inside.sum()),
                        "confidence": float(confidence[inside].mean()), "accuracy": float(right[inside].mean())})
    return out


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE: the count-weighted mean gap |accuracy - confidence| over the reliability bins."""
    bins = reliability_bins(y_true, proba, n_bins)
    n = sum(b["count"] for b in bins)
    return float(sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / max(n, 1))
