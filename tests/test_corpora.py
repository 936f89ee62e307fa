"""Corpora for the character-level GPT: built in, Tiny Shakespeare (on a fabricated file served
over file://, never the network) and a person's own text."""

import pytest

from nnapps.data import corpora
from nnapps.data.dataset import DatasetUnavailable

UNREACHABLE = "http://127.0.0.1:9/input.txt"  # the discard port: refused at once, no network


def shakespeare_like(n_chars: int = corpora.SHAKESPEARE_MIN_CHARS + 10) -> bytes:
    verse = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    return (verse * (n_chars // len(verse) + 1)).encode()


def test_builtin_corpus_ships_with_python_and_is_stable():
    a, b = corpora.builtin(), corpora.builtin()
    assert a.text == b.text and len(a.text) > 100_000
    assert "for" in a.text and "class" in a.text  # it documents the language
    train, val = a.split()
    assert train + val == a.text and len(val) == pytest.approx(0.1 * len(a.text), abs=1)


def test_shakespeare_is_downloaded_once_and_cached(tmp_path, monkeypatch):
    source = tmp_path / "served.txt"
    source.write_bytes(shakespeare_like())
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", (source.as_uri(),))
    corpus = corpora.shakespeare()
    assert corpus.text.startswith("First Citizen:") and corpora.shakespeare_path().exists()
    source.unlink()  # the cached copy serves from now on
    assert corpora.shakespeare().text == corpus.text


def test_shakespeare_offline_says_so_and_where_to_put_the_file(monkeypatch):
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", (UNREACHABLE,))
    with pytest.raises(DatasetUnavailable, match="offline") as caught:
        corpora.shakespeare()
    assert str(corpora.shakespeare_path().parent) in str(caught.value)
    assert not corpora.shakespeare_path().exists()


def test_a_file_that_is_not_shakespeare_is_refused(tmp_path, monkeypatch):
    source = tmp_path / "served.txt"
    source.write_bytes(b"<html>rate limited</html>")
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", (source.as_uri(),))
    with pytest.raises(DatasetUnavailable, match="is not Tiny Shakespeare .* delete it"):
        corpora.shakespeare()


def test_user_text_takes_any_utf8_and_normalises_line_ends():
    text = "Ünïcode, emoji 🙂 and CJK 漢字.\r\n" * 20
    corpus = corpora.user_text(("\ufeff" + text).encode("utf-8"), "mine.txt")
    assert corpus.title == "mine.txt" and "\r" not in corpus.text and not corpus.text.startswith("\ufeff")
    assert "🙂" in corpus.text and corpus.text.count("\n") == 20


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe not utf-8 " * 50, "not UTF-8 text"),
    (b"too short", "needs at least 200"),
    (b"   \n\n  " * 100, "holds 0 characters"),
])
def test_bad_user_text_is_refused_with_a_reason(data, message):
    with pytest.raises(DatasetUnavailable, match=message):
        corpora.user_text(data, "upload.txt")


def test_user_text_is_size_bounded(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_CORPUS_MB", str(1000 / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"upload.txt is 0.0 MB; this copy takes at most .* "
                                                 r"MB of text \(NNAPPS_MAX_CORPUS_MB\)"):
        corpora.user_text(b"a" * 1001, "upload.txt")
    assert len(corpora.user_text(b"a" * 1000).text) == 1000


def test_corpora_load_by_the_name_a_run_records():
    assert corpora.load("builtin").text == corpora.builtin().text
    mine = corpora.user_text(("a sentence of my own. " * 20).encode(), "mine.txt")
    assert mine.name.startswith("user-") and mine.prompt.startswith("a sentence")
    with pytest.raises(DatasetUnavailable, match="paste or upload it again"):
        corpora.load(mine.name)
    corpora.keep(mine)
    assert corpora.load(mine.name).text == mine.text
    # The same text has the same name, so a run trained on it is found again.
    assert corpora.user_text(mine.text.encode(), "other name.txt").name == mine.name


@pytest.mark.parametrize("name", ["nope", "user-../../etc", "user-0123", "../builtin"])
def test_unknown_corpus_names_are_refused(name):
    with pytest.raises(DatasetUnavailable, match="unknown corpus"):
        corpora.load(name)


def test_a_text_of_too_many_different_characters_is_refused():
    text = "".join(chr(0x4E00 + i) for i in range(corpora.MAX_DISTINCT + 1)) * 2
    with pytest.raises(DatasetUnavailable, match="different characters"):
        corpora.user_text(text.encode(), "hanzi.txt")


def test_a_file_name_is_kept_printable_and_short():
    corpus = corpora.user_text(("words " * 50).encode(), "evil\x1b[31m" + "n" * 300 + ".txt")
    assert corpus.title.isprintable() and len(corpus.title) == 100
