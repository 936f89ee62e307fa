"""The model registry: family names to ModelFamily, classifiers and language models alike."""

from nnapps.models import boe, cnn, fasttext, frames, gpt, logreg, mlp, pooled, rnn, textcnn, tfidf, transformer
from nnapps.models.family import CLASSIFIER, ModelFamily

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (
    logreg.FAMILY, mlp.FAMILY, cnn.FAMILY,                                    # images
    tfidf.FAMILY, fasttext.FAMILY, boe.FAMILY, textcnn.FAMILY, rnn.GRU_FAMILY, rnn.LSTM_FAMILY,  # text
    transformer.FAMILY,
    pooled.LOGREG_FAMILY, pooled.MLP_FAMILY, frames.FAMILY,                   # sounds (and cnn)
    gpt.FAMILY,                                                               # texts, next character
)}
# The families a dataset's models are chosen from (Train, sweeps, the command line's train).
CLASSIFIERS: dict[str, ModelFamily] = {n: f for n, f in FAMILIES.items() if f.task == CLASSIFIER}


def get_family(name: str) -> ModelFamily:
    """Any family by name (a stored run's, whatever its task)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; valid: {sorted(FAMILIES)}")
    return FAMILIES[name]


def get_classifier(name: str) -> ModelFamily:
    """A classifier family by name; ValueError for any other name, a language model's included."""
    if name not in CLASSIFIERS:
        what = f"{name!r} is a {FAMILIES[name].task}, not a classifier" if name in FAMILIES else (
            f"unknown model family {name!r}")
        raise ValueError(f"{what}; valid: {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[name]


def families_for(modality: str) -> list[ModelFamily]:
    """The classifiers that take a modality's data."""
    return [f for f in CLASSIFIERS.values() if modality in f.modalities]
