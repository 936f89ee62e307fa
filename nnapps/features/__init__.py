"""Fitted preprocessors: statistics learned on the training split, saved with each run."""

from .image import ImageStandardizer

__all__ = ["ImageStandardizer"]
