"""20 Newsgroups: Usenet posts in 20 groups, fetched once through scikit-learn, a few at a time."""

import http.client
import tarfile
import urllib.error
import zlib
from pathlib import Path

import numpy as np

from nnapps.paths import data_dir
from nnapps.data.dataset import DatasetSpec, DatasetUnavailable, ProgressFn, RawData
from nnapps.data.download import failure_reason

NAME = "20newsgroups"
TITLE = "20 Newsgroups"
CATEGORY_SEPARATOR = ":"  # "20newsgroups:sci.space+rec.autos"
CATEGORY_JOINER = "+"
MIN_CATEGORIES, MAX_CATEGORIES = 2, 6
MAX_CHARS = 10_000  # a few long posts (FAQs, code dumps) would otherwise dominate memory and time
ARCHIVE_MB = 14
SOURCE_URL = "http://qwone.com/~jason/20Newsgroups/"
LICENCE = "Public domain / no licence stated; collected by Ken Lang"

# The groups as scikit-learn's target_names spells them (alphabetical, like the archive's folders).
CATEGORIES = (
    "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
    "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med",
    "sci.space", "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast",
    "talk.politics.misc", "talk.religion.misc",
)
# Four groups far enough apart that a small model separates them in seconds.
DEFAULT_CATEGORIES = ("comp.graphics", "rec.sport.hockey", "sci.space", "talk.politics.mideast")
REMOVE = ("headers", "footers", "quotes")

# What scikit-learn 1.9 leaves under data_home (sklearn/datasets/_twenty_newsgroups.py): the
# parsed posts as a zlib-compressed pickle, and while it works, the archive in a scratch folder.
CACHE_FILE = "20news-bydate_py3.pkz"
SCRATCH_FOLDER = "20news_home"
ARCHIVE_FILE = "20news-bydate.tar.gz"

# scikit-learn's own retry defaults; retrying helps a flaky link, not a machine that is offline.
N_RETRIES = 3
RETRY_DELAY_S = 1.0

# split markers (see RawData): -1 lets the seed draw train/val, 2 keeps the official test set.
TRAIN_OR_VAL = -1
TEST = 2

# Errors fetch_20newsgroups lets out when it cannot download, verify, unpack or save the archive.
_FETCH_ERRORS = (OSError, http.client.HTTPException, tarfile.TarError, EOFError, zlib.error)
_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def default_home() -> Path:
    """The folder scikit-learn is given as data_home: data_dir()/20newsgroups."""
    return data_dir() / NAME


def is_cached(data_home: Path | None = None) -> bool:
    """Whether loading needs no download: scikit-learn's cache file, or its verified-on-use
    archive, is already under data_home (default_home() when None)."""
    home = Path(data_home) if data_home is not None else default_home()
    return (home / CACHE_FILE).is_file() or (home / SCRATCH_FOLDER / ARCHIVE_FILE).is_file()


def parse_name(name: str) -> tuple[str, ...]:
    """The categories a dataset name asks for, in its order.

    "20newsgroups" gives DEFAULT_CATEGORIES; "20newsgroups:sci.space+rec.autos" gives
    ("sci.space", "rec.autos"). Raises ValueError, listing the valid categories, for anything else.
    """
    if name == NAME:
        return DEFAULT_CATEGORIES
    prefix = NAME + CATEGORY_SEPARATOR
    if not name.startswith(prefix):
        raise ValueError(f"not a 20 Newsgroups dataset name: {name!r}; use {NAME!r} or "
                         f"'{prefix}<category>{CATEGORY_JOINER}<category>...' with categories "
                         "from: " + ", ".join(CATEGORIES))
    parts = name[len(prefix):].split(CATEGORY_JOINER)
    return validate_categories([part.strip() for part in parts])


def validate_categories(categories) -> tuple[str, ...]:
    """categories as a tuple, checked: 2 to 6 distinct names from CATEGORIES. Raises ValueError."""
    categories = tuple(categories)
    valid = ", ".join(CATEGORIES)
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown 20 Newsgroups categor{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(repr(c) for c in unknown)}; valid categories: {valid}")
    repeated = sorted({c for c in categories if categories.count(c) > 1})
    if repeated:
        raise ValueError(f"20 Newsgroups categories must be distinct, got {repeated} "
                         "more than once")
    if not MIN_CATEGORIES <= len(categories) <= MAX_CATEGORIES:
        raise ValueError(f"a 20 Newsgroups dataset needs {MIN_CATEGORIES} to {MAX_CATEGORIES} "
                         f"categories, got {len(categories)}: {list(categories)}; "
                         f"valid categories: {valid}")
    return categories


def name_for(categories) -> str:
    """The dataset name of a choice of categories (NAME itself for the default choice)."""
    categories = validate_categories(categories)
    if categories == DEFAULT_CATEGORIES:
        return NAME
    return NAME + CATEGORY_SEPARATOR + CATEGORY_JOINER.join(categories)


def load_newsgroups(categories=DEFAULT_CATEGORIES, seed: int = 0,
                    progress: ProgressFn | None = None, data_home: Path | None = None,
                    n_retries: int = N_RETRIES, retry_delay_s: float = RETRY_DELAY_S) -> RawData:
    """Download (once) and read the posts of some categories: official training posts, then test.

    Returns RawData with X (N,) an object array of str, y (N,) int64 indices into class_names
    (the categories in the order given), and split -1 (train or val) / 2 (official test).
    Headers, signature footers and quoted lines are removed; posts left empty are dropped and the
    rest cut to MAX_CHARS characters. seed is unused, since the archive fixes the order; it keeps
    the DatasetSpec.load signature. data_home defaults to default_home(). Raises
    DatasetUnavailable, with a message for a person, when the archive cannot be had.
    """
    from sklearn.datasets import fetch_20newsgroups  # scikit-learn is slow to import; only here

    categories = validate_categories(categories)
    home = Path(data_home) if data_home is not None else default_home()
    report = progress or (lambda fraction, message: None)
    report(0.0, f"{TITLE}: reading the cache" if is_cached(home)
           else f"{TITLE}: downloading (about {ARCHIVE_MB} MB)")
    parts = []
    for i, subset in enumerate(("train", "test")):
        try:
            bunch = fetch_20newsgroups(data_home=home, subset=subset, categories=list(categories),
                                       shuffle=False, remove=REMOVE, n_retries=n_retries,
                                       delay=retry_delay_s)
        except _FETCH_ERRORS as err:
            raise DatasetUnavailable(_failure_message(err, home)) from err
        parts.append(_texts_and_labels(bunch, categories))
        report((i + 1) / 2, f"{TITLE}: {subset} posts read")
    (train_X, train_y), (test_X, test_y) = parts
    split = np.concatenate([np.full(len(train_y), TRAIN_OR_VAL, dtype=np.int64),
                            np.full(len(test_y), TEST, dtype=np.int64)])
    raw = RawData(X=np.concatenate([train_X, test_X]), y=np.concatenate([train_y, test_y]),
                  class_names=list(categories), split=split)
    report(1.0, f"{TITLE}: {len(raw.y)} posts in {len(categories)} categories")
    return raw


def _texts_and_labels(bunch, categories: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty, truncated texts and their labels in our category order.

    scikit-learn numbers the chosen categories in alphabetical order; we keep the order asked for.
    """
    ours = np.array([categories.index(name) for name in bunch.target_names], dtype=np.int64)
    texts, labels = [], []
    for text, target in zip(bunch.data, bunch.target):
        text = text.strip()
        if text:
            texts.append(text[:MAX_CHARS])
            labels.append(ours[target])
    X = np.empty(len(texts), dtype=object)  # filled item by item so numpy never makes a str dtype
    X[:] = texts
    return X, np.array(labels, dtype=np.int64)


def _failure_message(err: BaseException, home: Path) -> str:
    if isinstance(err, urllib.error.HTTPError):  # before URLError, its base class
        cause = f"the download server did not provide it ({failure_reason(err)})"
    elif isinstance(err, _NETWORK_ERRORS):
        cause = f"this machine seems to be offline ({failure_reason(err)})"
    elif isinstance(err, (tarfile.TarError, EOFError, zlib.error)):
        cause = f"the downloaded archive is damaged ({err}); delete {home} and try again"
    elif getattr(err, "errno", None) is not None:
        # A full or read-only disk is not a network problem; say so rather than "offline".
        return f"Could not save {TITLE} into {home}: {err.strerror or err}."
    else:  # scikit-learn reports a checksum mismatch as a bare OSError
        cause = f"the file downloaded is not the expected one ({err})"
    return (f"Could not download {TITLE} (about {ARCHIVE_MB} MB): {cause}. "
            f"nnapps caches it under {home} once downloaded.")


def spec_for(name: str) -> DatasetSpec:
    """The spec of "20newsgroups" (DEFAULT_CATEGORIES) or "20newsgroups:<cat>+<cat>...".

    The spec's name is the canonical one (name_for): spaces dropped, and the default four in
    their default order named plain "20newsgroups". Raises ValueError for a bad name.
    """
    categories = parse_name(name)

    def load(seed: int = 0, progress: ProgressFn | None = None) -> RawData:
        return load_newsgroups(categories, seed, progress)

    return DatasetSpec(
        name=name_for(categories),
        title=f"{TITLE} ({', '.join(categories)})",
        modality="text",
        origin="download",
        licence=LICENCE,
        description=(
            f"Usenet posts from 1993 in {len(categories)} groups ({', '.join(categories)}), "
            "from the 'bydate' version of 20 Newsgroups: the earlier posts for training and "
            "validation, the official later ones for testing. Headers, signatures and quoted "
            "replies are removed, so models learn from what people wrote rather than from "
            "addresses and subject lines; posts left empty are dropped and long ones cut to "
            f"{MAX_CHARS:,} characters. Downloaded once through scikit-learn (about {ARCHIVE_MB} "
            "MB, all 20 groups) and cached under NNAPPS_DATA_DIR. Choose other groups with a "
            f"name like '{NAME}:sci.space+rec.autos' ({MIN_CATEGORIES} to {MAX_CATEGORIES} of "
            "the 20)."),
        load=load,
        is_cached=is_cached,
        source_url=SOURCE_URL,
    )


DEFAULT_SPEC = spec_for(NAME)
