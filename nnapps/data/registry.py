"""The dataset registry: names to specs, and loading a name (or a user's data) into splits."""

from pathlib import Path

from . import digits, reviews, scattered, spoken_digits
from .dataset import Dataset, DatasetSpec, ProgressFn, RawData
from .splits import split_indices

_BUILTIN: tuple[DatasetSpec, ...] = (digits.SPEC, scattered.SPEC, reviews.SPEC, spoken_digits.SPEC)


def _downloadable() -> tuple[DatasetSpec, ...]:
    from . import fsdd, mnist, newsgroups
    return (mnist.MNIST_SPEC, mnist.FASHION_SPEC, newsgroups.DEFAULT_SPEC, fsdd.RANDOM_SPEC,
            fsdd.SPEAKERS_SPEC)


def dataset_specs() -> dict[str, DatasetSpec]:
    """Every dataset known by name: built in, downloadable, and the user's stored uploads."""
    from . import uploads
    specs = {s.name: s for s in _BUILTIN + _downloadable()}
    specs.update({s.name: s for s in uploads.stored_specs()})
    return specs


def get_spec(name_or_path: str) -> DatasetSpec:
    """The spec for a registered name, or for a path to the user's own data (folder or zip)."""
    specs = dataset_specs()
    if name_or_path in specs:
        return specs[name_or_path]
    if name_or_path.startswith("20newsgroups:"):
        from . import newsgroups
        return newsgroups.spec_for(name_or_path)  # a chosen set of categories
    path = Path(name_or_path)
    if path.exists():
        from . import uploads
        return uploads.store_path(path)
    raise ValueError(f"unknown dataset {name_or_path!r}; valid names: {sorted(specs)} "
                     "(or 20newsgroups:CAT+CAT, or a path to your own data: a folder or zip of "
                     "class folders of images or sounds, or a CSV/TSV file)")


def load_dataset(name_or_path: str, seed: int = 0, progress: ProgressFn | None = None) -> Dataset:
    """Load a dataset and split it deterministically for seed."""
    spec = get_spec(name_or_path)
    raw: RawData = spec.load(seed, progress)
    train, val, test = split_indices(raw.y, seed, raw.split)
    return Dataset(spec=spec, seed=seed, class_names=list(raw.class_names),
                   X_train=raw.X[train], y_train=raw.y[train],
                   X_val=raw.X[val], y_val=raw.y[val],
                   X_test=raw.X[test], y_test=raw.y[test])
