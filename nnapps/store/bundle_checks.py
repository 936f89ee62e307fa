"""What every task's part of a bundle import shares: the error a person reads, and checks of numbers."""

import math


class BundleError(ValueError):
    """A bundle that cannot be imported, with the reason for a person."""


def number(metrics: dict, key: str) -> float:
    """metrics[key], a finite number of at least 0; BundleError otherwise."""
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise BundleError(f"metrics.json: {key} must be a number of at least 0, got {value!r}")
    return value


def not_downloaded(title: str, where: str) -> str:
    return (f"its run learned from {title}, which is not downloaded on this copy, so the run cannot be "
            f"checked; download it on {where}, then import the bundle again")
