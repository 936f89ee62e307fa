"""Model families (one file each) and their registry."""

from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.registry import FAMILIES, families_for, get_family

__all__ = ["FAMILIES", "InputInfo", "ModelFamily", "families_for", "get_family"]
