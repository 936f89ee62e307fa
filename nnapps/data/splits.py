"""Deterministic stratified train/validation/test splits."""

import math

import numpy as np

VAL_FRACTION = 0.15
TEST_FRACTION = 0.15


def split_indices(y: np.ndarray, seed: int, fixed: np.ndarray | None = None,
                  val_fraction: float = VAL_FRACTION, test_fraction: float = TEST_FRACTION
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the train, validation and test items, stratified by label and fixed by seed.

    fixed: optional (N,) array of 0/1/2 for items whose split the source decides, -1 for the
    rest. Where the source fixes a test set, only train/val are drawn from the rest.
    """
    n = len(y)
    fixed = np.full(n, -1) if fixed is None else np.asarray(fixed)
    free = np.flatnonzero(fixed == -1)
    parts = {k: list(np.flatnonzero(fixed == k)) for k in (0, 1, 2)}
    if len(free):
        want_test = not parts[2]
        want_val = not parts[1]
        rest = free
        if want_test:
            rest, test = _stratified(rest, y, test_fraction, seed)
            parts[2] += list(test)
        if want_val:
            frac = val_fraction / (1 - test_fraction) if want_test else val_fraction
            rest, val = _stratified(rest, y, frac, seed + 1)
            parts[1] += list(val)
        parts[0] += list(rest)
    return tuple(np.sort(np.asarray(parts[k], dtype=np.int64)) for k in (0, 1, 2))


def _stratified(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    labels = y[idx]
    counts = np.bincount(labels)
    n_classes = int((counts > 0).sum())
    n_split = math.ceil(fraction * len(idx))  # scikit-learn rounds the held-out side up
    # Stratify only where every class can give one item to each side and each side has room
    # for every class; a tiny upload is split at random instead.
    can_stratify = (counts[counts > 0].min() >= 2 and n_split >= n_classes
                    and len(idx) - n_split >= n_classes)
    from sklearn.model_selection import train_test_split  # imported here: a GPT never splits

    return train_test_split(idx, test_size=fraction, random_state=seed,
                            stratify=labels if can_stratify else None)
