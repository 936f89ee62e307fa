"""Fitted preprocessors: statistics learned on the training split, saved with each run.

Each modality has one preprocessor kind and a schema of its options (part of a run's config):
fit(train items) -> self, transform(items) -> model input, input_info(), to_state()/from_state().
"""

from nnapps.schema import Param, Schema
from nnapps.features.audio import LogMelSpectrogram
from nnapps.features.image import ImageStandardizer
from nnapps.features.text import LEVELS, TextTokenizer

FEATURE_SCHEMAS: dict[str, Schema] = {
    "image": Schema(()),
    "text": Schema((
        Param("tokenizer", "choice", "word", "Split text into words or single characters", choices=LEVELS),
        Param("vocab_size", "int", 5000, "Most frequent training tokens kept; the rest become <unk>",
              10, 100_000),
        Param("min_freq", "int", 1, "Tokens seen fewer times in training become <unk>", 1, 100),
        Param("max_len", "int", 64, "Tokens per text; longer texts are cut, shorter ones padded", 4, 2048),
    )),
    "audio": Schema((
        Param("window_ms", "float", 25.0, "Length of each analysed slice of sound, in milliseconds",
              5.0, 100.0),
        Param("hop_ms", "float", 16.0, "Step between slices in milliseconds: smaller gives more frames "
              "(and slower training)", 2.0, 50.0),
        Param("n_mels", "int", 32, "Mel bands: pitch ranges, finer at low pitches as in hearing", 8, 128),
        Param("trim_silence", "bool", True, "Cut the quiet start and end of each clip (40 dB below its "
              "loudest part) before the spectrogram, so every sound starts at the beginning"),
    )),
}
_KINDS = {"image_standardizer": ImageStandardizer, "text_tokenizer": TextTokenizer,
          "log_mel": LogMelSpectrogram}


def feature_schema(modality: str) -> Schema:
    if modality not in FEATURE_SCHEMAS:
        raise ValueError(f"no preprocessor for modality {modality!r}; valid: {sorted(FEATURE_SCHEMAS)}")
    return FEATURE_SCHEMAS[modality]


def make_preprocessor(modality: str, options: dict, sample_rate: int = 0):
    """An unfitted preprocessor for modality with validated options (sounds need their rate)."""
    opts = feature_schema(modality).validate(options)
    if modality == "audio":
        return LogMelSpectrogram(sample_rate=sample_rate, **opts)
    if modality == "text":
        return TextTokenizer(level=opts["tokenizer"], vocab_size=opts["vocab_size"],
                             min_freq=opts["min_freq"], max_len=opts["max_len"])
    return ImageStandardizer()


def preprocessor_from_state(state: dict):
    kind = state.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"unknown preprocessor kind {kind!r}; valid: {sorted(_KINDS)}")
    return _KINDS[kind].from_state(state)


__all__ = ["FEATURE_SCHEMAS", "ImageStandardizer", "LogMelSpectrogram", "TextTokenizer", "feature_schema",
           "make_preprocessor", "preprocessor_from_state"]
