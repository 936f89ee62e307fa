"""The model registry: family names to ModelFamily."""

from . import cnn, logreg, mlp
from .family import ModelFamily

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (logreg.FAMILY, mlp.FAMILY, cnn.FAMILY)}


def get_family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; valid: {sorted(FAMILIES)}")
    return FAMILIES[name]


def families_for(modality: str) -> list[ModelFamily]:
    return [f for f in FAMILIES.values() if modality in f.modalities]
