"""The text tokenizer (words or characters to ids) and the preprocessors chosen by modality."""

import json

import numpy as np
import pytest

from nnapps.features import (FEATURE_SCHEMAS, ImageStandardizer, TextTokenizer, feature_schema,
                             make_preprocessor, preprocessor_from_state)
from nnapps.features.text import OOV, OOV_ID, PAD, PAD_ID, split_words
from nnapps.models import InputInfo

CORPUS = [
    "The battery is great, but the screen isn't.",
    "I wouldn't buy it again!",
    "Très BIEN: the camera is great.",
    "日本語 のテキスト 🙂 great",
    "the the the screen",
]


def fitted(level="word", **options) -> TextTokenizer:
    return TextTokenizer(level=level, **options).fit(CORPUS)


# ---- splitting ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, tokens", [
    ("Hello, World!", ["hello", ",", "world", "!"]),
    ("It isn't bad", ["it", "isn't", "bad"]),  # an inner apostrophe keeps the word whole
    ("It isn’t bad", ["it", "isn’t", "bad"]),  # the typographic one too
    ("'quoted' words", ["'", "quoted", "'", "words"]),  # an outer one is punctuation
    ("wait... what?!", ["wait", ".", ".", ".", "what", "?", "!"]),
    ("co-op e-mail", ["co", "-", "op", "e", "-", "mail"]),
    ("Très BIEN", ["très", "bien"]),
    ("STRASSE Straße", ["strasse", "strasse"]),  # casefold, not just lower
    ("日本語 テキスト", ["日本語", "テキスト"]),
    ("so good 🙂👍", ["so", "good", "🙂", "👍"]),
    ("  tabs\tand\nnewlines  ", ["tabs", "and", "newlines"]),
    ("", []),
    ("   ", []),
    ("42 items", ["42", "items"]),
])
def test_split_words(text, tokens):
    assert split_words(text) == tokens
    assert TextTokenizer().tokens(text) == tokens


def test_char_tokens_are_casefolded_characters_spaces_included():
    assert TextTokenizer(level="char").tokens("Ab c!") == ["a", "b", " ", "c", "!"]
    assert TextTokenizer(level="char").tokens("É日🙂") == ["é", "日", "🙂"]


def test_tokens_of_something_other_than_text_raise():
    with pytest.raises(TypeError, match="expected text, got float"):
        TextTokenizer().tokens(float("nan"))


# ---- vocabulary -----------------------------------------------------------------------------


def test_vocabulary_is_pad_unk_then_most_frequent_ties_by_token():
    tok = TextTokenizer().fit(["b a c", "a c", "c d", "e"])
    # c: 3, a: 2, then b, d, e once each in token order.
    assert tok.vocab_ == [PAD, OOV, "c", "a", "b", "d", "e"]
    assert (PAD_ID, OOV_ID) == (0, 1)


def test_vocab_size_keeps_the_most_frequent():
    tok = TextTokenizer(vocab_size=4).fit(["b a c", "a c", "c d", "e"])
    assert tok.vocab_ == [PAD, OOV, "c", "a"]
    assert tok.input_info() == InputInfo((64,), vocab_size=4)
    assert tok.encode("a b c z") == [3, OOV_ID, 2, OOV_ID]


def test_min_freq_drops_rare_tokens():
    tok = TextTokenizer(min_freq=2).fit(["b a c", "a c", "c d", "e"])
    assert tok.vocab_ == [PAD, OOV, "c", "a"]
    assert tok.encode("d e") == [OOV_ID, OOV_ID]


def test_vocabulary_is_smaller_when_training_text_has_fewer_tokens():
    tok = TextTokenizer(vocab_size=5000).fit(["one two", "two"])
    assert tok.vocab_ == [PAD, OOV, "two", "one"]
    assert tok.input_info().vocab_size == 4


def test_char_vocabulary():
    tok = TextTokenizer(level="char").fit(["abba", "Cab"])
    assert tok.vocab_ == [PAD, OOV, "a", "b", "c"]
    assert tok.encode("ABCD") == [2, 3, 4, OOV_ID]


def test_fit_is_a_fresh_start():
    tok = TextTokenizer().fit(["alpha beta"])
    tok.fit(["gamma"])
    assert tok.vocab_ == [PAD, OOV, "gamma"] and tok.encode("alpha gamma") == [OOV_ID, 2]


# ---- transform ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["word", "char"])
@pytest.mark.parametrize("text", CORPUS)
def test_encode_then_decode_gives_the_casefolded_tokens(level, text):
    tok = fitted(level, max_len=200)
    assert tok.decode(tok.encode(text)) == tok.tokens(text)
    assert tok.decode(tok.transform([text])[0]) == tok.tokens(text)  # padding is dropped


def test_transform_pads_with_zeros_and_keeps_order():
    tok = fitted(max_len=8)
    ids = tok.transform(["the screen", "great great great"])
    assert ids.dtype == np.int64 and ids.shape == (2, 8)
    assert tok.decode(ids[0]) == ["the", "screen"] and (ids[0, 2:] == PAD_ID).all()
    assert tok.decode(ids[1]) == ["great"] * 3 and (ids[1, 3:] == PAD_ID).all()


def test_empty_and_blank_texts_are_all_padding():
    tok = fitted(max_len=6)
    ids = tok.transform(["", "   ", "\n"])
    assert ids.shape == (3, 6) and (ids == PAD_ID).all()
    assert tok.encode("") == [] and tok.decode(ids[0]) == []


def test_unknown_words_are_oov():
    tok = fitted()
    ids = tok.encode("the zebra is great")
    assert ids[1] == OOV_ID and OOV_ID not in (ids[0], ids[2], ids[3])
    assert tok.decode(ids) == ["the", OOV, "is", "great"]
    assert tok.encode("xylophone quasar") == [OOV_ID, OOV_ID]


@pytest.mark.parametrize("level", ["word", "char"])
def test_long_texts_keep_their_first_max_len_tokens(level):
    tok = fitted(level, max_len=10)
    long = "the camera is great " * 2000  # 8,000 words, 40,000 characters
    ids = tok.transform([long, "great"])
    assert ids.shape == (2, 10)
    assert ids[0].tolist() == tok.encode(long)[:10] and (ids[0] != PAD_ID).all()
    assert tok.decode(ids[0]) == tok.tokens(long)[:10]


def test_non_ascii_text():
    tok = fitted(max_len=12)
    assert tok.decode(tok.transform(["TRÈS bien"])[0]) == ["très", "bien"]
    assert tok.decode(tok.transform(["日本語 🙂"])[0]) == ["日本語", "🙂"]
    assert OOV_ID not in tok.encode("très bien 日本語 🙂")
    assert tok.encode("中文 😀") == [OOV_ID, OOV_ID]  # unseen, still one token each
    chars = fitted("char", max_len=12)
    assert chars.decode(chars.transform(["Très 🙂"])[0]) == list("très 🙂")


def test_transform_takes_a_numpy_object_array():
    tok = fitted(max_len=5)
    texts = np.empty(2, dtype=object)
    texts[:] = ["great screen", "the"]
    np.testing.assert_array_equal(tok.transform(texts), tok.transform(list(texts)))
    assert tok.transform([]).shape == (0, 5)


def test_unfitted_tokenizer_raises():
    tok = TextTokenizer()
    for use in (lambda: tok.transform(["a"]), lambda: tok.encode("a"), tok.input_info):
        with pytest.raises(RuntimeError, match="not fitted"):
            use()


# ---- state ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["word", "char"])
def test_state_round_trip_gives_the_same_transform(level):
    tok = fitted(level, vocab_size=12, min_freq=1, max_len=9)
    state = json.loads(json.dumps(tok.to_state()))  # plain JSON, as a run stores it
    assert state["kind"] == "text_tokenizer"
    for again in (TextTokenizer.from_state(state), preprocessor_from_state(state)):
        assert isinstance(again, TextTokenizer) and again == tok
        texts = CORPUS + ["unseen words here", ""]
        np.testing.assert_array_equal(again.transform(texts), tok.transform(texts))
        assert again.input_info() == tok.input_info() == InputInfo((9,), vocab_size=12)


def test_from_state_refuses_another_kind():
    with pytest.raises(ValueError, match="not a text tokenizer state: kind='image_standardizer'"):
        TextTokenizer.from_state({"kind": "image_standardizer"})
    with pytest.raises(ValueError, match="unknown preprocessor kind 'bpe'"):
        preprocessor_from_state({"kind": "bpe"})


@pytest.mark.parametrize("options, message", [
    (dict(level="bpe"), "tokenizer level must be one of ('word', 'char'), got 'bpe'"),
    (dict(vocab_size=2), "vocab_size must be >= 3"),
    (dict(max_len=0), "max_len and min_freq >= 1"),
    (dict(min_freq=0), "max_len and min_freq >= 1"),
])
def test_bad_tokenizer_options(options, message):
    with pytest.raises(ValueError) as err:
        TextTokenizer(**options)
    assert message in str(err.value)


def test_repr_says_what_it_is():
    assert repr(fitted(max_len=7)).startswith("TextTokenizer(level='word', vocab=")


# ---- preprocessors by modality --------------------------------------------------------------


def test_feature_schemas():
    assert set(FEATURE_SCHEMAS) == {"image", "text", "audio"}
    assert FEATURE_SCHEMAS["image"].names() == []
    assert FEATURE_SCHEMAS["text"].defaults() == {"tokenizer": "word", "vocab_size": 5000,
                                                  "min_freq": 1, "max_len": 64}
    assert FEATURE_SCHEMAS["audio"].defaults() == {"window_ms": 25.0, "hop_ms": 16.0, "n_mels": 32,
                                                   "trim_silence": True}
    with pytest.raises(ValueError, match="no preprocessor for modality 'video'"):
        feature_schema("video")


def test_make_preprocessor_text_uses_the_options():
    pre = make_preprocessor("text", {"tokenizer": "char", "vocab_size": "20", "max_len": 16,
                                     "min_freq": 2})
    assert isinstance(pre, TextTokenizer)
    assert (pre.level, pre.vocab_size, pre.max_len, pre.min_freq) == ("char", 20, 16, 2)
    assert make_preprocessor("text", {}) == TextTokenizer()


def test_make_preprocessor_image():
    assert isinstance(make_preprocessor("image", {}), ImageStandardizer)


@pytest.mark.parametrize("modality, options, message", [
    ("text", {"tokenizer": "bpe"}, "tokenizer must be one of ['word', 'char'], got 'bpe'"),
    ("text", {"max_len": 3}, "max_len must be between 4 and 2048"),
    ("text", {"vocab_size": 5}, "vocab_size must be between 10 and 100000"),
    ("text", {"min_freq": 0}, "min_freq must be between 1 and 100"),
    ("text", {"lowercase": True}, "unknown hyperparameter(s) ['lowercase']"),
    ("image", {"tokenizer": "word"}, "unknown hyperparameter(s) ['tokenizer']"),
    ("audio", {"n_mels": 4}, "n_mels must be between 8 and 128"),
    ("video", {}, "no preprocessor for modality 'video'"),
])
def test_make_preprocessor_validates(modality, options, message):
    with pytest.raises(ValueError) as err:
        make_preprocessor(modality, options)
    assert message in str(err.value)
