"""Text corpora for a character-level language model: built in, downloaded, or the user's own.

- builtin: the Python documentation's topic pages that ship with the standard library
  (pydoc_data), about 465,000 characters, offline.
- shakespeare: Tiny Shakespeare (about 1.1 million characters), downloaded once and cached.
- user_text: text a person pastes or uploads, any UTF-8, size-bounded.
"""

from dataclasses import dataclass
from pathlib import Path

from ..paths import data_dir
from . import download
from .dataset import DatasetUnavailable, ProgressFn

MAX_USER_BYTES = 5 * 2**20
MIN_CHARS = 200  # enough for a few training windows and a validation tail
VAL_SHARE = 0.1
SHAKESPEARE_URLS = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",)
# The file's first words and a floor on its length stand in for a checksum: the raw file's
# host serves it on request, and a check by content says what is wrong when it fails.
SHAKESPEARE_START = "First Citizen:"
SHAKESPEARE_MIN_CHARS = 1_000_000


@dataclass(frozen=True)
class Corpus:
    name: str
    title: str
    text: str
    licence: str

    def split(self, val_share: float = VAL_SHARE) -> tuple[str, str]:
        """Training text and validation text: the last val_share of the corpus, unseen in training."""
        cut = int(len(self.text) * (1 - val_share))
        return self.text[:cut], self.text[cut:]


def builtin() -> Corpus:
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    return Corpus(name="builtin", title="Python documentation (pydoc topics)",
                  text="\n\n".join(topics[key] for key in sorted(topics)),
                  licence="PSF License (ships with Python)")


def shakespeare_path() -> Path:
    return data_dir() / "tinyshakespeare" / "input.txt"


def shakespeare(progress: ProgressFn | None = None) -> Corpus:
    path = download.fetch(list(SHAKESPEARE_URLS), shakespeare_path(), None, progress=progress,
                          label="Tiny Shakespeare")
    text = _decode(path.read_bytes(), path.name)
    if not text.startswith(SHAKESPEARE_START) or len(text) < SHAKESPEARE_MIN_CHARS:
        raise DatasetUnavailable(f"{path} is not Tiny Shakespeare (it should start with "
                                 f"{SHAKESPEARE_START!r} and hold over {SHAKESPEARE_MIN_CHARS:,} "
                                 "characters); delete it to download it again")
    return Corpus(name="shakespeare", title="Tiny Shakespeare", text=text,
                  licence="public domain (Shakespeare's plays, collected by Andrej Karpathy)")


def user_text(data: bytes, name: str = "your text") -> Corpus:
    """A person's text as a corpus; DatasetUnavailable says what is wrong with it."""
    if len(data) > MAX_USER_BYTES:
        raise DatasetUnavailable(f"{name} is {len(data) / 2**20:.1f} MB; the limit is "
                                 f"{MAX_USER_BYTES / 2**20:.0f} MB")
    text = _decode(data, name)
    if len(text.strip()) < MIN_CHARS:
        raise DatasetUnavailable(f"{name} holds {len(text.strip()):,} characters; a model needs at "
                                 f"least {MIN_CHARS:,} to learn from")
    return Corpus(name="user", title=name, text=text, licence="yours")


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, if any, is not part of the text
    except UnicodeDecodeError as err:
        raise DatasetUnavailable(f"{name} is not UTF-8 text (byte {err.start} cannot be read)") from None
    # Windows and old Mac line ends would be two characters or a rare one to the model.
    return text.replace("\r\n", "\n").replace("\r", "\n")
