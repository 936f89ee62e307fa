"""The model registry: family names to ModelFamily."""

from . import boe, cnn, frames, gpt, logreg, mlp, pooled, rnn, textcnn, tfidf, transformer
from .family import ModelFamily

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (
    logreg.FAMILY, mlp.FAMILY, cnn.FAMILY,                                    # images
    tfidf.FAMILY, boe.FAMILY, textcnn.FAMILY, rnn.GRU_FAMILY, rnn.LSTM_FAMILY,  # text
    transformer.FAMILY,
    pooled.LOGREG_FAMILY, pooled.MLP_FAMILY, frames.FAMILY,                   # sounds (and cnn)
    gpt.FAMILY,                                                               # corpora
)}


def get_family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; valid: {sorted(FAMILIES)}")
    return FAMILIES[name]


def families_for(modality: str) -> list[ModelFamily]:
    return [f for f in FAMILIES.values() if modality in f.modalities]
