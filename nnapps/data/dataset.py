"""What a dataset is: its spec (name, modality, origin, licence, loader) and its loaded splits."""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# progress(fraction_done, message): how loaders report long work (downloads, generation).
ProgressFn = Callable[[float, str], None]

MODALITIES = ("image", "text", "audio")
ORIGINS = ("bundled", "made", "download", "upload")
SPLIT_NAMES = ("train", "val", "test")


class DatasetUnavailable(RuntimeError):
    """A dataset that cannot be loaded here, with a message meant for a person (offline, bad upload)."""


class DecodingStopped(DatasetUnavailable):
    """Decoding an upload stopped because someone asked (its should_stop said so); nothing was kept."""


StopFn = Callable[[], bool]


def decode_each(items: list, decode: Callable, noun: str, progress: ProgressFn | None = None,
                should_stop: StopFn | None = None) -> list:
    """decode(item) for each item, reporting progress after each and checking should_stop before
    each, so that a long upload can be watched and stopped between two files."""
    out = []
    for i, item in enumerate(items):
        if should_stop is not None and should_stop():
            raise DecodingStopped(f"stopped after {i:,} of {len(items):,} {noun}; nothing was stored")
        out.append(decode(item))
        if progress is not None:
            progress((i + 1) / len(items), f"decoded {i + 1:,} of {len(items):,} {noun}")
    return out


@dataclass
class RawData:
    """Items and labels before splitting.

    X: images (N, C, H, W) float32 in [0, 1], texts (N,) object array of str, or sounds (N, L)
    float32 mono samples at the spec's sample_rate, all one length.
    y: (N,) int64 class indices into class_names.
    split: optional (N,) array of 0/1/2 (train/val/test) when the source fixes a split, for
    example MNIST's official test set or the made dataset's held-out glyphs; -1 means "train or
    val, let the seed decide".
    notes: what a person should know about how their file was read (lines skipped, clips cut,
    an encoding guessed), one plain sentence each; shown on the Data page and by the CLI.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]
    split: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} items but y has {len(self.y)} labels")
        if len(self.class_names) < 2:
            raise ValueError(f"a dataset needs at least two classes, got {self.class_names}")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset the registry knows: how to load it and what to tell a user about it."""

    name: str
    title: str
    modality: str
    origin: str
    licence: str
    description: str
    load: Callable[[int, ProgressFn | None], RawData] = field(repr=False, compare=False)
    source_url: str = ""
    # For downloads: whether the files are already here, so a page can offer a download button
    # instead of starting one unasked.
    is_cached: Callable[[], bool] = field(repr=False, compare=False, default=lambda: True)
    # For sounds: the rate (Hz) at which load() delivers every clip; 0 for other modalities.
    sample_rate: int = 0
    # For uploads: RawData.notes from when the file was checked (plain text, never markdown).
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise ValueError(f"dataset {self.name!r}: modality must be one of {MODALITIES}, got {self.modality!r}")
        if self.origin not in ORIGINS:
            raise ValueError(f"dataset {self.name!r}: origin must be one of {ORIGINS}, got {self.origin!r}")
        if (self.modality == "audio") != (self.sample_rate > 0):
            raise ValueError(f"dataset {self.name!r}: sounds need a sample_rate, other data none")


@dataclass
class Dataset:
    """A loaded dataset: deterministic train/val/test splits for one seed."""

    spec: DatasetSpec
    seed: int
    class_names: list[str]
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one item, e.g. (C, H, W) for images."""
        return tuple(self.X_train.shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES}, got {name!r}")
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def split_sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)[1]) for name in SPLIT_NAMES}

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, seed={self.seed}, classes={self.n_classes}, "
                f"input={self.input_shape}, sizes={self.split_sizes()})")
