"""Sweeps: a grid or random sample of configs times seeds, run as ordinary trainings."""
