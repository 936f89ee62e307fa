"""Fitted preprocessors: statistics learned on the training split, saved with each run.

Each modality has one preprocessor kind and a schema of its options (part of a run's config):
fit(train items) -> self, transform(items) -> model input, input_info(), to_state()/from_state().
"""

from ..schema import Param, Schema
from .image import ImageStandardizer
from .text import LEVELS, TextTokenizer

FEATURE_SCHEMAS: dict[str, Schema] = {
    "image": Schema(()),
    "text": Schema((
        Param("tokenizer", "choice", "word", "Split text into words or single characters", choices=LEVELS),
        Param("vocab_size", "int", 5000, "Most frequent training tokens kept; the rest become <unk>",
              10, 100_000),
        Param("min_freq", "int", 1, "Tokens seen fewer times in training become <unk>", 1, 100),
        Param("max_len", "int", 64, "Tokens per text; longer texts are cut, shorter ones padded", 4, 2048),
    )),
}
_KINDS = {"image_standardizer": ImageStandardizer, "text_tokenizer": TextTokenizer}


def feature_schema(modality: str) -> Schema:
    if modality not in FEATURE_SCHEMAS:
        raise ValueError(f"no preprocessor for modality {modality!r}; valid: {sorted(FEATURE_SCHEMAS)}")
    return FEATURE_SCHEMAS[modality]


def make_preprocessor(modality: str, options: dict):
    """An unfitted preprocessor for modality with validated options."""
    opts = feature_schema(modality).validate(options)
    if modality == "text":
        return TextTokenizer(level=opts["tokenizer"], vocab_size=opts["vocab_size"],
                             min_freq=opts["min_freq"], max_len=opts["max_len"])
    return ImageStandardizer()


def preprocessor_from_state(state: dict):
    kind = state.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"unknown preprocessor kind {kind!r}; valid: {sorted(_KINDS)}")
    return _KINDS[kind].from_state(state)


__all__ = ["FEATURE_SCHEMAS", "ImageStandardizer", "TextTokenizer", "feature_schema",
           "make_preprocessor", "preprocessor_from_state"]
