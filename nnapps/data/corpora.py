"""Text corpora for a character-level language model: built in, downloaded, or the user's own.

- builtin: the Python documentation's topic pages that ship with the standard library
  (pydoc_data), about 465,000 characters, offline.
- shakespeare: Tiny Shakespeare (about 1.1 million characters), downloaded once and cached.
- user_text: text a person pastes or uploads, any UTF-8, size-bounded.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from nnapps.gpt.vocab import MAX_DISTINCT
from nnapps.limits import CORPUS_MB
from nnapps.paths import data_dir, write_atomically
from nnapps.data import download
from nnapps.data.dataset import DatasetUnavailable, ProgressFn

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
    prompt: str = ""  # a beginning the GPT page offers to continue, in the corpus's own style

    def split(self, val_share: float = VAL_SHARE) -> tuple[str, str]:
        """Training text and validation text: the last val_share of the corpus, unseen in training."""
        cut = int(len(self.text) * (1 - val_share))
        return self.text[:cut], self.text[cut:]


def builtin() -> Corpus:
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    return Corpus(name="builtin", title="Python documentation (pydoc topics)",
                  text="\n\n".join(topics[key] for key in sorted(topics)),
                  licence="PSF License (ships with Python)",
                  prompt="The for statement is used to iterate over the elements of a")


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
                  licence="public domain (Shakespeare's plays, collected by Andrej Karpathy)",
                  prompt="ROMEO:\nBut soft, what light through yonder window breaks?\n")


def max_user_bytes() -> int:
    return int(CORPUS_MB.value() * 2**20)


def user_text(data: bytes, name: str = "your text") -> Corpus:
    """A person's text as a corpus; DatasetUnavailable says what is wrong with it."""
    # The file's name is shown on the page: printable characters only, and not too many.
    name = "".join(c for c in name if c.isprintable())[:100] or "your text"
    if len(data) > max_user_bytes():
        raise DatasetUnavailable(f"{name} is {len(data) / 2**20:.1f} MB; this copy takes at most "
                                 f"{CORPUS_MB.value():g} MB of text ({CORPUS_MB.variable})")
    text = _decode(data, name)
    if len(text.strip()) < MIN_CHARS:
        raise DatasetUnavailable(f"{name} holds {len(text.strip()):,} characters; a model needs at "
                                 f"least {MIN_CHARS:,} to learn from")
    distinct = len(set(text))
    if distinct > MAX_DISTINCT:
        raise DatasetUnavailable(f"{name} uses {distinct:,} different characters; a character-level "
                                 f"model here takes at most {MAX_DISTINCT:,}")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    opening = text.strip()[:60]
    return Corpus(name=f"user-{digest}", title=name, text=text, licence="yours",
                  prompt=opening.rsplit(" ", 1)[0] if " " in opening else opening)


def user_path(name: str) -> Path:
    return data_dir() / "corpora" / f"{name}.txt"


def keep(corpus: Corpus) -> None:
    """Save a person's corpus under its name, so a run trained on it can be trained again."""
    path = user_path(corpus.name)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # The title (the file's name) first: the text's presence says the corpus is complete.
    write_atomically(path.with_suffix(".title"), corpus.title.encode())
    write_atomically(path, corpus.text.encode())


_USER_NAME = re.compile(r"user-[0-9a-f]{12}")


def is_corpus_name(name: str) -> bool:
    return name in ("builtin", "shakespeare") or bool(_USER_NAME.fullmatch(name))


def load(name: str, progress: ProgressFn | None = None) -> Corpus:
    """A corpus by the name a run records: builtin, shakespeare, or a kept user-<hash>."""
    if name == "builtin":
        return builtin()
    if name == "shakespeare":
        return shakespeare(progress)
    if _USER_NAME.fullmatch(name):
        path = user_path(name)
        if not path.exists():
            raise DatasetUnavailable(f"the text {name} is not on this machine; paste or upload it again")
        title = path.with_suffix(".title")
        return user_text(path.read_bytes(), title.read_text(encoding="utf-8")[:200] if title.exists() else name)
    raise DatasetUnavailable(f"unknown corpus {name!r}: builtin, shakespeare, or a text of your own")


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, if any, is not part of the text
    except UnicodeDecodeError as err:
        raise DatasetUnavailable(f"{name} is not UTF-8 text (byte {err.start} cannot be read)") from None
    # Windows and old Mac line ends would be two characters or a rare one to the model.
    return text.replace("\r\n", "\n").replace("\r", "\n")
