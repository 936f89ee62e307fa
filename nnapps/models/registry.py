"""The model registry: family names to ModelFamily (classifiers, and the language model)."""

from nnapps.models import boe, cnn, fasttext, frames, gpt, logreg, mlp, pooled, rnn, textcnn, tfidf, transformer
from nnapps.models.family import ModelFamily

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (
    logreg.FAMILY, mlp.FAMILY, cnn.FAMILY,                                    # images
    tfidf.FAMILY, fasttext.FAMILY, boe.FAMILY, textcnn.FAMILY, rnn.GRU_FAMILY, rnn.LSTM_FAMILY,  # text
    transformer.FAMILY,
    pooled.LOGREG_FAMILY, pooled.MLP_FAMILY, frames.FAMILY,                   # sounds (and cnn)
)}
# Models of text that score the next character rather than a class: their own training loop
# and page (nnapps/gpt), but runs in the same store, so their configs name them here too.
LANGUAGE_MODELS: dict[str, ModelFamily] = {gpt.FAMILY.name: gpt.FAMILY}


def get_family(name: str) -> ModelFamily:
    if name in LANGUAGE_MODELS:
        return LANGUAGE_MODELS[name]
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; valid: {sorted(FAMILIES)}")
    return FAMILIES[name]


def families_for(modality: str) -> list[ModelFamily]:
    return [f for f in FAMILIES.values() if modality in f.modalities]
