"""The dataset registry: names to specs, and loading a named dataset into splits.

Only names are resolved here (built in, downloadable, 20newsgroups:CAT+CAT, stored uploads),
never paths: a name can come from a visitor (a bundle, a link, a widget), and a path would let
one make the server read its own files. A path to a person's own data is stored first, by the
command line, with uploads.store_path, and named afterwards.
"""

from nnapps.data import digits, reviews, scattered, spoken_digits
from nnapps.data.dataset import Dataset, DatasetSpec, ProgressFn, RawData
from nnapps.data.splits import split_indices

_BUILTIN: tuple[DatasetSpec, ...] = (digits.SPEC, scattered.SPEC, reviews.SPEC, spoken_digits.SPEC)


def _downloadable() -> tuple[DatasetSpec, ...]:
    from nnapps.data import fsdd, mnist, newsgroups
    return (mnist.MNIST_SPEC, mnist.FASHION_SPEC, newsgroups.DEFAULT_SPEC, fsdd.RANDOM_SPEC,
            fsdd.SPEAKERS_SPEC)


def dataset_specs() -> dict[str, DatasetSpec]:
    """Every dataset known by name: built in, downloadable, and the user's stored uploads."""
    from nnapps.data import uploads
    specs = {s.name: s for s in _BUILTIN + _downloadable()}
    specs.update({s.name: s for s in uploads.stored_specs()})
    return specs


def get_spec(name: str) -> DatasetSpec:
    """The spec for a registered name; ValueError lists the valid names. A path is not a name."""
    specs = dataset_specs()
    if not isinstance(name, str):
        raise ValueError(f"a dataset is named by a string, got {name!r}")
    if name in specs:
        return specs[name]
    if name.startswith("20newsgroups:"):
        from nnapps.data import newsgroups
        return newsgroups.spec_for(name)  # a chosen set of categories
    shown = name if len(name) <= 80 else name[:80] + "..."
    raise ValueError(f"unknown dataset {shown!r}; valid names: {sorted(specs)} (or 20newsgroups:CAT+CAT; "
                     "your own data is uploaded on the Data page, or given as a path to "
                     "python -m nnapps train)")


def load_dataset(name: str, seed: int = 0, progress: ProgressFn | None = None) -> Dataset:
    """Load a named dataset and split it deterministically for seed."""
    spec = get_spec(name)
    raw: RawData = spec.load(seed, progress)
    train, val, test = split_indices(raw.y, seed, raw.split)
    return Dataset(spec=spec, seed=seed, class_names=list(raw.class_names),
                   X_train=raw.X[train], y_train=raw.y[train],
                   X_val=raw.X[val], y_val=raw.y[val],
                   X_test=raw.X[test], y_test=raw.y[test])
