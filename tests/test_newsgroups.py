"""20 Newsgroups through scikit-learn's real loader, fed a tiny archive from a file:// URL."""

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import _twenty_newsgroups
from sklearn.datasets._base import RemoteFileMetadata

from nnapps.data import DatasetUnavailable
from nnapps.data import newsgroups
from nnapps.data.newsgroups import (CATEGORIES, DEFAULT_CATEGORIES, DEFAULT_SPEC, MAX_CHARS, TEST,
                                    TRAIN_OR_VAL, is_cached, load_newsgroups, parse_name, spec_for)

# Port 9 (discard) is closed on test machines, so connecting fails at once without a network.
UNREACHABLE = "http://127.0.0.1:9/20news-bydate.tar.gz"
TINY_CATEGORIES = ("comp.graphics", "rec.autos", "rec.sport.hockey", "sci.space",
                   "talk.politics.mideast")
EMPTY_ID = "60999"  # a post that is nothing but headers, a quote and a signature


def post(category: str, number: int, body: str) -> str:
    """A Usenet post as the archive stores it: headers, a reply with a quote, a signature."""
    return (f"From: user{number}@{category}.example.edu (Poster {number})\n"
            f"Subject: Re: question {number} for {category}\n"
            f"Organization: University of Example\n"
            f"Lines: 7\n"
            f"\n"
            f"In article <{number}@example.edu> someone@example.edu writes:\n"
            f"> QUOTED question about {category}?\n"
            f"{body}\n"
            f"-- \n"
            f"SIGNATURE of poster {number}, user{number}@example.edu\n")


def tiny_posts() -> dict[str, str]:
    """Archive member name -> text: 3 training and 2 test posts per category, plus oddities."""
    posts = {}
    for subset, n_posts, first in (("train", 3, 50000), ("test", 2, 70000)):
        for c, category in enumerate(TINY_CATEGORIES):
            for i in range(n_posts):
                number = first + 100 * c + i
                body = f"BODY {subset} {category} {i}: café talk about {category}."
                posts[f"20news-bydate-{subset}/{category}/{number}"] = post(category, number, body)
    posts[f"20news-bydate-train/sci.space/{EMPTY_ID}"] = (
        "From: quiet@example.edu\nSubject: Re: nothing\n\n"
        "In article <1@example.edu> someone@example.edu writes:\n> only a quote\n-- \nsig only\n")
    posts["20news-bydate-test/comp.graphics/79999"] = post("comp.graphics", 79999,
                                                           "LONG " + "x" * 12_000)
    return posts


def write_archive(path: Path) -> str:
    """The tiny archive as a .tar.gz in the real layout; returns its sha256."""
    with tarfile.open(path, "w:gz") as tar:
        for member, text in tiny_posts().items():
            data = text.encode("latin1")  # the archive's posts are 8-bit; sklearn reads latin1
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def point_archive(monkeypatch, url: str, checksum: str) -> None:
    """Make scikit-learn's own download step fetch url instead of figshare's archive."""
    monkeypatch.setattr(_twenty_newsgroups, "ARCHIVE", RemoteFileMetadata(
        filename=_twenty_newsgroups.ARCHIVE.filename, url=url, checksum=checksum))


@pytest.fixture
def archive(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "served" / "20news-bydate.tar.gz"
    path.parent.mkdir()
    point_archive(monkeypatch, path.as_uri(), write_archive(path))
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("NNAPPS_DATA_DIR", str(data))
    return data / "20newsgroups"


# --- names -----------------------------------------------------------------------------------

def test_categories_are_the_twenty_groups():
    assert len(CATEGORIES) == len(set(CATEGORIES)) == 20
    assert set(DEFAULT_CATEGORIES) <= set(CATEGORIES)
    assert newsgroups.CACHE_FILE == Path(_twenty_newsgroups._pkl_filepath(
        "", _twenty_newsgroups.CACHE_NAME)).name


def test_default_name():
    assert parse_name("20newsgroups") == DEFAULT_CATEGORIES
    assert DEFAULT_SPEC.name == "20newsgroups"
    assert DEFAULT_SPEC.modality == "text" and DEFAULT_SPEC.origin == "download"
    assert DEFAULT_SPEC.source_url == "http://qwone.com/~jason/20Newsgroups/"
    assert "Ken Lang" in DEFAULT_SPEC.licence
    assert "headers" in DEFAULT_SPEC.description.lower()
    assert "quoted" in DEFAULT_SPEC.description.lower()


def test_chosen_categories_keep_their_order():
    spec = spec_for("20newsgroups:sci.space+rec.autos")
    assert parse_name(spec.name) == ("sci.space", "rec.autos")
    assert spec.name == "20newsgroups:sci.space+rec.autos"
    assert spec_for(spec.name) == spec
    assert spec_for("20newsgroups").name == "20newsgroups"


@pytest.mark.parametrize("name, problem", [
    ("20newsgroups:sci.space", "needs 2 to 6"),
    ("20newsgroups:", "unknown"),
    ("20newsgroups:" + "+".join(CATEGORIES[:7]), "needs 2 to 6"),
    ("20newsgroups:sci.space+sci.spaceship", "unknown"),
    ("20newsgroups:sci.space+sci.space", "distinct"),
    ("newsgroups:sci.space+rec.autos", "not a 20 Newsgroups"),
])
def test_bad_names_raise_value_error(name, problem):
    with pytest.raises(ValueError, match=problem) as info:
        spec_for(name)
    if problem != "distinct":
        assert "rec.sport.hockey" in str(info.value)  # the valid names are listed


# --- loading through scikit-learn ----------------------------------------------------------------

def test_loads_chosen_categories_with_official_split(archive, home):
    assert not is_cached()
    progress = []
    spec = spec_for("20newsgroups:sci.space+comp.graphics")
    raw = spec.load(0, lambda fraction, message: progress.append((fraction, message)))

    assert raw.class_names == ["sci.space", "comp.graphics"]
    assert raw.X.dtype == object and all(isinstance(x, str) for x in raw.X)
    assert raw.y.dtype == np.int64 and raw.split is not None
    # 3 training posts each (the empty sci.space post dropped), 2 test each plus the long one.
    train, test = raw.split == TRAIN_OR_VAL, raw.split == TEST
    assert np.bincount(raw.y[train]).tolist() == [3, 3]
    assert np.bincount(raw.y[test]).tolist() == [2, 3]
    assert np.all(np.diff(raw.split) >= 0)  # training posts come first
    for x, label, marker in zip(raw.X, raw.y, raw.split):
        if x.startswith("LONG"):  # the one long post is comp.graphics's, in the test set
            assert (raw.class_names[label], marker) == ("comp.graphics", TEST)
            continue
        subset = "train" if marker == TRAIN_OR_VAL else "test"
        assert x.startswith(f"BODY {subset} {raw.class_names[label]} ")
    assert progress[0][0] == 0.0 and "download" in progress[0][1]
    assert progress[-1][0] == 1.0
    assert is_cached()


def test_headers_quotes_and_signatures_are_removed(archive, home):
    raw = load_newsgroups(("sci.space", "comp.graphics", "rec.autos"))
    texts = list(raw.X)
    assert len(texts) == 3 * 5 + 1  # the empty post is gone, the long one is kept
    for text in texts:
        assert "From:" not in text and "Subject:" not in text and "Organization" not in text
        assert "QUOTED" not in text and "writes:" not in text and ">" not in text
        assert "SIGNATURE" not in text and "@" not in text
        assert text == text.strip() and len(text) <= MAX_CHARS
    assert any("café" in text for text in texts)  # latin-1 bytes decoded as scikit-learn does
    assert max(len(text) for text in texts) == MAX_CHARS


def test_default_spec_loads_its_four_categories(archive, home):
    raw = DEFAULT_SPEC.load(0, None)
    assert raw.class_names == list(DEFAULT_CATEGORIES)
    assert np.bincount(raw.y).tolist() == [3 + 3, 3 + 2, 3 + 2, 3 + 2]
    assert not any("rec.autos" in text for text in raw.X)


def test_cache_is_reused_without_the_archive(archive, home, monkeypatch):
    first = load_newsgroups(("sci.space", "rec.autos"))
    archive.unlink()
    point_archive(monkeypatch, UNREACHABLE, "0" * 64)
    messages = []
    again = load_newsgroups(("sci.space", "rec.autos"), progress=lambda f, m: messages.append(m))
    assert list(again.X) == list(first.X)
    assert np.array_equal(again.y, first.y) and np.array_equal(again.split, first.split)
    assert "cache" in messages[0]
    assert (home / newsgroups.CACHE_FILE).is_file()


def test_offline_raises_a_clear_message(home, monkeypatch):
    point_archive(monkeypatch, UNREACHABLE, "0" * 64)
    with pytest.warns(UserWarning, match="Retry"), pytest.raises(DatasetUnavailable) as info:
        load_newsgroups(("sci.space", "rec.autos"), n_retries=1, retry_delay_s=0.01)
    message = str(info.value)
    assert message.startswith("Could not download 20 Newsgroups (about 14 MB)")
    assert "offline" in message and "refused" in message.lower()
    assert str(home) in message
    assert not is_cached()


def test_wrong_checksum_is_not_cached(tmp_path, home, monkeypatch):
    path = tmp_path / "20news-bydate.tar.gz"
    write_archive(path)
    point_archive(monkeypatch, path.as_uri(), "0" * 64)
    with pytest.raises(DatasetUnavailable, match="not the expected one"):
        load_newsgroups(("sci.space", "rec.autos"))
    assert not is_cached()
