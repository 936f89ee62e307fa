"""A character vocabulary: every distinct character of the training text, in code-point order."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

# Every distinct character is a row of the model's embedding and a column of every step's
# scores: a text of a million different code points would take gigabytes to train on.
MAX_DISTINCT = 1000


@dataclass(frozen=True)
class CharVocab:
    chars: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> "CharVocab":
        if not text:
            raise ValueError("a vocabulary needs some text; got an empty one")
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    @cached_property  # a frozen dataclass still takes a cached_property: it writes __dict__
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.chars)}

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of text the model never saw, in order of appearance."""
        index = self.index
        return list(dict.fromkeys(c for c in text if c not in index))

    def encode(self, text: str) -> torch.Tensor:
        """(len(text),) int64 ids; ValueError names the characters outside the vocabulary."""
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(repr(c) for c in missing[:10])
            raise ValueError(f"{len(missing)} character(s) are not in the model's vocabulary: {shown}")
        # Code points through numpy rather than a Python int per character: a million-character
        # text would otherwise pass through a list of a million objects.
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        order, sorted_points = self._lookup
        return torch.from_numpy(order[np.searchsorted(sorted_points, points)])

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids in code-point order and their code points (a stored run's characters are
        in code-point order already; this does not rely on it)."""
        points = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        order = np.argsort(points).astype(np.int64)
        return order, points[order]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)
