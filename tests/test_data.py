"""Datasets: deterministic stratified splits, the registry, digits and the made scattered digits."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from nnapps.data import Dataset, dataset_specs, get_spec, load_dataset, scattered
from nnapps.data.dataset import MODALITIES, ORIGINS, RawData
from nnapps.data.splits import TEST_FRACTION, VAL_FRACTION, split_indices

DIGIT_LABELS = load_digits().target.astype(np.int64)
REGISTERED = ("digits", "scattered-digits", "mnist", "fashion-mnist")


def assert_partition(parts, n):
    """The three index arrays are sorted, disjoint and together cover 0..n-1."""
    for part in parts:
        assert np.all(np.diff(part) > 0)
    everything = np.concatenate(parts)
    assert len(everything) == n
    assert np.array_equal(np.sort(everything), np.arange(n))


# ---- splits --------------------------------------------------------------------------------


def test_split_is_disjoint_covering_and_sized():
    train, val, test = split_indices(DIGIT_LABELS, seed=0)
    n = len(DIGIT_LABELS)
    assert_partition((train, val, test), n)
    assert abs(len(test) - TEST_FRACTION * n) <= 1
    assert abs(len(val) - VAL_FRACTION * n) <= 2


def test_split_is_deterministic_for_a_seed():
    first = split_indices(DIGIT_LABELS, seed=3)
    second = split_indices(DIGIT_LABELS.copy(), seed=3)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_another_seed_gives_another_split():
    a = split_indices(DIGIT_LABELS, seed=0)
    b = split_indices(DIGIT_LABELS, seed=1)
    for part_a, part_b in zip(a, b):
        assert not np.array_equal(part_a, part_b)


def test_split_is_stratified():
    overall = np.bincount(DIGIT_LABELS, minlength=10) / len(DIGIT_LABELS)
    for part in split_indices(DIGIT_LABELS, seed=5):
        share = np.bincount(DIGIT_LABELS[part], minlength=10) / len(part)
        # A random split of 270 items would stray by ~0.018 per class; stratified stays within 1 item.
        assert np.abs(share - overall).max() < 0.006


def test_rare_classes_fall_back_to_an_unstratified_split():
    y = np.array([0] * 20 + [1] * 20 + [2])  # class 2 cannot give an item to both sides
    parts = split_indices(y, seed=0)
    assert_partition(parts, len(y))


@pytest.mark.parametrize("n_classes, per_class", [(2, 2), (3, 3), (5, 4), (10, 2)])
def test_small_datasets_that_uploads_accept_can_be_split(n_classes, per_class):
    y = np.repeat(np.arange(n_classes), per_class)
    parts = split_indices(y, seed=0)
    assert_partition(parts, len(y))
    assert all(len(p) > 0 for p in parts)


def test_fixed_test_markers_are_respected():
    rng = np.random.default_rng(0)
    fixed = np.full(len(DIGIT_LABELS), -1)
    official_test = np.sort(rng.choice(len(DIGIT_LABELS), 300, replace=False))
    fixed[official_test] = 2
    train, val, test = split_indices(DIGIT_LABELS, seed=0, fixed=fixed)
    assert np.array_equal(test, official_test)
    assert_partition((train, val, test), len(DIGIT_LABELS))
    # Validation is drawn from the rest only, at its own fraction of the rest.
    n_rest = len(DIGIT_LABELS) - 300
    assert abs(len(val) - VAL_FRACTION * n_rest) <= 2
    # The seed still decides train/val.
    other_train, _, other_test = split_indices(DIGIT_LABELS, seed=1, fixed=fixed)
    assert np.array_equal(other_test, official_test) and not np.array_equal(other_train, train)


def test_fixed_markers_for_every_split_are_kept_as_given():
    fixed = np.arange(len(DIGIT_LABELS)) % 3  # every item fixed: 0, 1, 2, 0, 1, 2, ...
    train, val, test = split_indices(DIGIT_LABELS, seed=0, fixed=fixed)
    for k, part in enumerate((train, val, test)):
        assert np.array_equal(part, np.flatnonzero(fixed == k))


def test_fixed_train_items_never_leave_train():
    fixed = np.full(len(DIGIT_LABELS), -1)
    fixed[:100] = 0
    train, val, test = split_indices(DIGIT_LABELS, seed=0, fixed=fixed)
    assert set(range(100)) <= set(train.tolist())
    assert_partition((train, val, test), len(DIGIT_LABELS))


# ---- the registry ---------------------------------------------------------------------------


def test_registry_lists_the_builtin_and_downloadable_datasets():
    specs = dataset_specs()
    assert set(REGISTERED) <= set(specs)
    for name, spec in specs.items():
        assert spec.name == name
        assert spec.modality in MODALITIES and spec.origin in ORIGINS
        assert spec.title and spec.licence and spec.description


@pytest.mark.parametrize("name", REGISTERED)
def test_get_spec_by_name(name):
    assert get_spec(name).name == name


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError) as err:
        load_dataset("no-such-dataset")
    message = str(err.value)
    assert "'no-such-dataset'" in message
    for name in REGISTERED:
        assert repr(name) in message


def test_raw_data_checks_lengths_and_classes():
    with pytest.raises(ValueError, match="X has 3 items but y has 2"):
        RawData(X=np.zeros((3, 1, 2, 2)), y=np.zeros(2, dtype=np.int64), class_names=["a", "b"])
    with pytest.raises(ValueError, match="at least two classes"):
        RawData(X=np.zeros((2, 1, 2, 2)), y=np.zeros(2, dtype=np.int64), class_names=["a"])


# ---- digits ---------------------------------------------------------------------------------


def test_digits_sizes_shape_and_range(digits):
    assert isinstance(digits, Dataset)
    sizes = digits.split_sizes()
    assert sum(sizes.values()) == 1797
    assert sizes == {"train": 1257, "val": 270, "test": 270}
    assert digits.input_shape == (1, 8, 8) and digits.n_classes == 10
    assert digits.class_names == [str(d) for d in range(10)]
    for name in ("train", "val", "test"):
        X, y = digits.split(name)
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))  # stratified: every class in every split
    assert digits.X_train.max() == 1.0 and digits.X_train.min() == 0.0


def test_digits_pixels_are_sklearns_divided_by_16(digits):
    bunch = load_digits()
    train, _, _ = split_indices(bunch.target, 0)
    np.testing.assert_array_equal(digits.X_train[:, 0], (bunch.images[train] / 16).astype(np.float32))
    np.testing.assert_array_equal(digits.y_train, bunch.target[train])


def test_digits_split_bad_name(digits):
    with pytest.raises(ValueError, match="split must be one of"):
        digits.split("validation")


def test_load_dataset_is_deterministic_and_seeded(digits):
    again = load_dataset("digits", 0)
    np.testing.assert_array_equal(again.X_train, digits.X_train)
    np.testing.assert_array_equal(again.y_test, digits.y_test)
    other = load_dataset("digits", 1)
    assert not np.array_equal(other.y_test, digits.y_test)


# ---- scattered digits -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def scattered_one():
    """One canvas per glyph (1,797 canvases) for seed 0: quick to make."""
    return scattered.make(0, canvases_per_glyph=1)


def test_scattered_same_seed_same_pixels_and_progress(scattered_one):
    calls = []
    again = scattered.make(0, canvases_per_glyph=1, progress=lambda f, msg: calls.append((f, msg)))
    assert calls and calls[0][0] == 0.0 and all(0 <= f < 1 for f, _ in calls)
    np.testing.assert_array_equal(again.X, scattered_one.X)
    np.testing.assert_array_equal(again.y, scattered_one.y)
    np.testing.assert_array_equal(again.split, scattered_one.split)


def test_scattered_other_seed_other_pixels(scattered_one):
    other = scattered.make(1, canvases_per_glyph=1)
    assert not np.array_equal(other.X, scattered_one.X)
    assert not np.array_equal(other.split, scattered_one.split)


def test_scattered_shape_range_and_labels(scattered_one):
    raw = scattered_one
    assert raw.X.shape == (1797, 1, scattered.CANVAS, scattered.CANVAS) and raw.X.dtype == np.float32
    assert raw.X.min() >= 0.0 and raw.X.max() <= 1.0
    np.testing.assert_array_equal(raw.y, DIGIT_LABELS)  # canvas i is glyph i here
    assert set(np.unique(raw.split)) == {0, 1, 2}


def test_scattered_glyph_split_is_the_seeded_stratified_split(scattered_one):
    """Each glyph's split is drawn before any canvas is made, by the same seeded splitter."""
    for k, part in enumerate(split_indices(DIGIT_LABELS, 0)):
        np.testing.assert_array_equal(np.flatnonzero(scattered_one.split == k), part)


def test_scattered_canvases_of_one_glyph_share_its_split_and_test_glyphs_never_train():
    raw = scattered.make(2, canvases_per_glyph=2)
    glyph = np.repeat(np.arange(len(DIGIT_LABELS)), 2)  # canvas i shows glyph i // 2
    np.testing.assert_array_equal(raw.split[0::2], raw.split[1::2])
    train, val, test = split_indices(raw.y, seed=2, fixed=raw.split)
    assert not set(glyph[test]) & set(glyph[train])
    assert not set(glyph[val]) & set(glyph[train])
    assert not set(glyph[test]) & set(glyph[val])
    # The two canvases of a glyph differ (new place, size, noise), though the label is the same.
    assert not np.array_equal(raw.X[0], raw.X[1])


def test_load_scattered_digits_keeps_the_glyph_split(monkeypatch, scattered_one):
    original = scattered.make
    monkeypatch.setattr(scattered, "make", lambda seed=0, canvases_per_glyph=4, progress=None:
                        original(seed, 1, progress))
    ds = load_dataset("scattered-digits", 0)
    assert ds.input_shape == (1, 28, 28) and sum(ds.split_sizes().values()) == 1797
    for name, k in (("train", 0), ("val", 1), ("test", 2)):
        X, y = ds.split(name)
        np.testing.assert_array_equal(X, scattered_one.X[scattered_one.split == k])
        np.testing.assert_array_equal(y, scattered_one.y[scattered_one.split == k])

