"""The made reviews dataset: deterministic, balanced, labels that follow word order, no word giveaways."""

import re

import numpy as np
import pytest

from nnapps.data import RawData, reviews
from nnapps.data.reviews import Clause, clause, join, phrase, sentence_label

KEY_WORDS = ("not", "but", "although", "never", "great", "bad", "excellent", "terrible",
             "awful", "perfect", "disappointing", "impressive")


@pytest.fixture(scope="module")
def made() -> RawData:
    return reviews.make(0)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_same_seed_same_sentences_other_seed_different():
    first, again, other = reviews.make(3, 400), reviews.make(3, 400), reviews.make(4, 400)
    assert list(first.X) == list(again.X) and np.array_equal(first.y, again.y)
    assert sum(a != b for a, b in zip(first.X, other.X)) > 390


def test_size_balance_and_classes(made):
    assert made.X.shape == (reviews.N_ITEMS,) and made.X.dtype == object
    assert made.y.shape == (reviews.N_ITEMS,) and made.y.dtype == np.int64
    assert made.class_names == ["negative", "positive"]
    assert made.split is None
    assert np.bincount(made.y).tolist() == [reviews.N_ITEMS // 2] * 2


def test_items_are_distinct_non_empty_sentences(made):
    assert all(isinstance(x, str) and x.strip() for x in made.X)
    assert len({x.lower().rstrip(".!") for x in made.X}) == len(made.X)
    for x in made.X:
        assert "{" not in x and "  " not in x, x
    assert not any(re.match(r"i think (although|though|while|even)", x.lower()) for x in made.X)


@pytest.mark.parametrize("word", KEY_WORDS)
def test_key_words_are_as_common_in_both_classes(made, word):
    has = np.array([word in words(x) for x in made.X])
    assert has.sum() >= 60, f"{word!r} is too rare to judge ({has.sum()} sentences)"
    share_positive = made.y[has].mean()
    assert 0.35 <= share_positive <= 0.65, f"{word!r}: {share_positive:.2f} of its sentences are positive"


def test_negation_flips_a_clause():
    cases = [
        (clause("the screen", phrase("bad"), "{s} {be_n} {x} at all"), "the screen isn't bad at all", True),
        (clause("the screen", phrase("great"), "{s} {be} not {x}"), "the screen is not great", False),
        (clause("the price", phrase("perfect"), "{s} {be} far from {x}"), "the price is far from perfect", False),
        (clause("this phone", phrase("worth it"), "{s} {be} hardly {x}"), "this phone is hardly worth it", False),
        (clause("this phone", phrase("disappoint"), "{s} never {v}"), "this phone never disappoints", True),
        (clause("the speakers", phrase("let me down"), "{s} {do_n} {v0}", plural=True, past=True),
         "the speakers didn't let me down", True),
        (clause("the hinge", phrase("bad"), "I wouldn't say {s} {be} {x}"), "I wouldn't say the hinge is bad", True),
        (clause("the case", phrase("a disaster"), "{s} {be} nothing short of {x}"),
         "the case is nothing short of a disaster", False),
        (clause("the keyboard", phrase("great"), "{s} {be} {i} {x}", past=True, intensifier="truly"),
         "the keyboard was truly great", True),
    ]
    for made_clause, text, positive in cases:
        assert made_clause == Clause(text, positive)


def test_the_deciding_clause_sets_the_label():
    good_screen = clause("the screen", phrase("great"), "{s} {be} {x}")
    bad_battery = clause("the battery", phrase("awful"), "{s} {be} {x}")
    died = Clause("the battery died in an hour", False)
    assert join("{a}, but {b}", good_screen, died) == "the screen is great, but the battery died in an hour"
    assert sentence_label("but", good_screen, died) == 0
    assert sentence_label("but", died, good_screen) == 1
    assert join("although {a}, {b}", good_screen, bad_battery) == \
        "although the screen is great, the battery is awful"
    assert sentence_label("although_first", good_screen, bad_battery) == 0
    assert join("{a}, although {b}", bad_battery, good_screen) == \
        "the battery is awful, although the screen is great"
    assert sentence_label("although_last", bad_battery, good_screen) == 0
    assert sentence_label("plain", good_screen) == 1
    not_bad = clause("the battery", phrase("awful"), "{s} {be} anything but {x}")
    assert sentence_label("and", good_screen, not_bad) == 1


def test_vocabulary_is_rich_and_paired():
    positive = [p for p in reviews.PHRASES if p.positive]
    negative = [p for p in reviews.PHRASES if not p.positive]
    assert len(positive) >= 25 and len(negative) >= 25
    for kind in ("adj", "noun", "verb"):
        assert sum(p.kind == kind for p in positive) == sum(p.kind == kind for p in negative)
    with pytest.raises(ValueError, match="no phrase"):
        phrase("meh")


def test_bad_size_is_refused_and_progress_is_reported():
    with pytest.raises(ValueError, match="n_items"):
        reviews.make(0, 3)
    calls = []
    reviews.make(0, 2000, progress=lambda f, msg: calls.append(f))
    assert calls and all(0 <= f < 1 for f in calls)


def test_spec_describes_a_made_text_dataset():
    spec = reviews.SPEC
    assert (spec.name, spec.modality, spec.origin) == ("reviews", "text", "made")
    assert spec.licence.startswith("CC0") and "bag-of-words" in spec.description
    assert spec.load is reviews.load
