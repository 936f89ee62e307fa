"""A character vocabulary: every distinct character of the training text, in code-point order."""

from dataclasses import dataclass
from functools import cached_property

import torch


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
        index = self.index
        return torch.tensor([index[c] for c in text], dtype=torch.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)
