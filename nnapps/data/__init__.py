"""Datasets: specs, the registry, and deterministic splits."""

from nnapps.data.dataset import Dataset, DatasetSpec, DatasetUnavailable, RawData
from nnapps.data.registry import dataset_specs, get_spec, load_dataset

__all__ = ["Dataset", "DatasetSpec", "DatasetUnavailable", "RawData",
           "dataset_specs", "get_spec", "load_dataset"]
