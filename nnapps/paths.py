"""Where nnapps writes: the run store under NNAPPS_HOME, downloads under NNAPPS_DATA_DIR."""

import os
from pathlib import Path

import platformdirs


def home_dir() -> Path:
    """The run store's folder (SQLite database and safetensors weights)."""
    env = os.environ.get("NNAPPS_HOME")
    path = Path(env) if env else Path(platformdirs.user_data_dir("nnapps"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The download cache for datasets that are fetched once."""
    env = os.environ.get("NNAPPS_DATA_DIR")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("nnapps")) / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path
