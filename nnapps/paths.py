"""Where nnapps writes: the run store under NNAPPS_HOME, downloads under NNAPPS_DATA_DIR."""

import os
import threading
from pathlib import Path
from typing import Callable

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


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """write(tmp) to a temporary file beside path, then rename it to path, so no reader sees it
    half written; the temporary name is the process's and thread's own (sessions are threads)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Write data to path as replace_atomically does."""
    replace_atomically(path, lambda tmp: tmp.write_bytes(data))
