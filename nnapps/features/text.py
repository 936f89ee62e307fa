"""Text tokenizers: words or characters to integer ids, with a vocabulary fitted on training text."""

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from nnapps.models.family import InputInfo

PAD, OOV = "<pad>", "<unk>"
PAD_ID, OOV_ID = 0, 1
LEVELS = ("word", "char")
# Words (with an inner apostrophe, so "isn't" stays one token) or single punctuation marks.
_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)


def split_words(text: str) -> list[str]:
    """Lowercased word and punctuation tokens of text."""
    return _WORD.findall(text.casefold())


@dataclass
class TextTokenizer:
    """Text -> (max_len,) int64 ids: 0 pads, 1 marks a token outside the vocabulary.

    The vocabulary is the training split's vocab_size - 2 most frequent tokens seen at least
    min_freq times; longer texts keep their first max_len tokens. State is plain JSON.
    """

    level: str = "word"
    vocab_size: int = 5000
    min_freq: int = 1
    max_len: int = 64
    vocab_: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"tokenizer level must be one of {LEVELS}, got {self.level!r}")
        if self.vocab_size < 3 or self.max_len < 1 or self.min_freq < 1:
            raise ValueError(f"vocab_size must be >= 3, max_len and min_freq >= 1; got {self.vocab_size}, "
                             f"{self.max_len}, {self.min_freq}")
        self._index = {t: i for i, t in enumerate(self.vocab_)}

    def tokens(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected text, got {type(text).__name__}")
        return split_words(text) if self.level == "word" else list(text.casefold())

    def fit(self, texts) -> "TextTokenizer":
        counts = Counter(t for text in texts for t in self.tokens(text))
        kept = sorted((t for t, c in counts.items() if c >= self.min_freq), key=lambda t: (-counts[t], t))
        self.vocab_ = [PAD, OOV] + kept[: self.vocab_size - 2]
        self._index = {t: i for i, t in enumerate(self.vocab_)}
        return self

    def encode(self, text: str) -> list[int]:
        """Ids of text's tokens, unpadded and untruncated."""
        self._check_fitted()
        return [self._index.get(t, OOV_ID) for t in self.tokens(text)]

    def transform(self, texts) -> np.ndarray:
        """(N, max_len) int64 ids, padded with PAD_ID."""
        self._check_fitted()
        out = np.full((len(texts), self.max_len), PAD_ID, dtype=np.int64)
        for i, text in enumerate(texts):
            ids = self.encode(text)[: self.max_len]
            out[i, : len(ids)] = ids
        return out

    def decode(self, ids) -> list[str]:
        return [self.vocab_[i] for i in ids if i != PAD_ID]

    def input_info(self) -> InputInfo:
        self._check_fitted()
        return InputInfo(shape=(self.max_len,), vocab_size=len(self.vocab_))

    def to_state(self) -> dict:
        return {"kind": "text_tokenizer", "level": self.level, "vocab_size": self.vocab_size,
                "min_freq": self.min_freq, "max_len": self.max_len, "vocab": self.vocab_}

    @classmethod
    def from_state(cls, state: dict) -> "TextTokenizer":
        if state.get("kind") != "text_tokenizer":
            raise ValueError(f"not a text tokenizer state: kind={state.get('kind')!r}")
        return cls(level=state["level"], vocab_size=state["vocab_size"], min_freq=state["min_freq"],
                   max_len=state["max_len"], vocab_=list(state["vocab"]))

    def _check_fitted(self) -> None:
        if not self.vocab_:
            raise RuntimeError("TextTokenizer is not fitted; call fit on the training texts first")

    def __repr__(self) -> str:
        return (f"TextTokenizer(level={self.level!r}, vocab={len(self.vocab_)}/{self.vocab_size}, "
                f"min_freq={self.min_freq}, max_len={self.max_len})")
