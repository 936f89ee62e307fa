"""Model families (one file each) and their registry."""

from nnapps.models.family import CLASSIFIER, LANGUAGE_MODEL, TASKS, InputInfo, ModelFamily
from nnapps.models.registry import CLASSIFIERS, FAMILIES, families_for, get_classifier, get_family

__all__ = ["CLASSIFIER", "CLASSIFIERS", "FAMILIES", "InputInfo", "LANGUAGE_MODEL", "ModelFamily", "TASKS",
           "families_for", "get_classifier", "get_family"]
