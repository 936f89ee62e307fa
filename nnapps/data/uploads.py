"""The user's own datasets: archives stored once under NNAPPS_HOME and registered by content hash.

An upload (bytes from the UI) or a path (folder or zip from the command line) is validated,
normalised to a zip and kept as uploads/user-<hash>.zip, so a run trained on it can be
reloaded after a restart and two identical uploads are one dataset.
"""

import hashlib
import json
import os
from pathlib import Path

from ..paths import home_dir
from .dataset import DatasetSpec, DatasetUnavailable
from . import user_images

MAX_ARCHIVE_BYTES = int(float(os.environ.get("NNAPPS_MAX_UPLOAD_MB", "50")) * 1024 * 1024)


def _uploads_dir() -> Path:
    path = home_dir() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_archive(data: bytes, title: str) -> DatasetSpec:
    """Validate a zip of class folders, store it, and return its spec.

    Raises DatasetUnavailable with a message for a person when the archive is unusable.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise DatasetUnavailable(f"{title}: the archive is {len(data) / 2**20:.1f} MB; the limit is "
                                 f"{MAX_ARCHIVE_BYTES / 2**20:.0f} MB")
    raw = user_images.load_image_archive(data)  # raises with a clear message when unusable
    name = "user-" + hashlib.sha256(data).hexdigest()[:12]
    folder = _uploads_dir()
    zip_path = folder / f"{name}.zip"
    if not zip_path.exists():
        tmp = zip_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, zip_path)
    meta = {"title": title, "modality": "image", "n_items": int(len(raw.y)),
            "classes": list(raw.class_names)}
    (folder / f"{name}.json").write_text(json.dumps(meta))
    return _spec(name, meta, zip_path)


def store_path(path: Path) -> DatasetSpec:
    """Store a folder or zip of class folders given on the command line."""
    path = Path(path)
    if path.is_dir():
        data = user_images.zip_folder(path, max_bytes=MAX_ARCHIVE_BYTES)
    elif path.suffix.lower() == ".zip":
        if path.stat().st_size > MAX_ARCHIVE_BYTES:
            raise DatasetUnavailable(f"{path}: larger than the {MAX_ARCHIVE_BYTES / 2**20:.0f} MB limit")
        data = path.read_bytes()
    else:
        raise DatasetUnavailable(f"{path}: expected a folder or a .zip of class folders")
    return store_archive(data, path.name)


def stored_specs() -> list[DatasetSpec]:
    specs = []
    for meta_path in sorted(_uploads_dir().glob("user-*.json")):
        zip_path = meta_path.with_suffix(".zip")
        if zip_path.exists():
            specs.append(_spec(meta_path.stem, json.loads(meta_path.read_text()), zip_path))
    return specs


def delete_upload(name: str) -> None:
    for suffix in (".zip", ".json"):
        (_uploads_dir() / f"{name}{suffix}").unlink(missing_ok=True)


def _spec(name: str, meta: dict, zip_path: Path) -> DatasetSpec:
    def load(seed: int = 0, progress=None):
        return user_images.load_image_archive(zip_path.read_bytes())

    return DatasetSpec(
        name=name, title=f"{meta['title']} (yours)", modality=meta["modality"], origin="upload",
        licence="yours", load=load,
        description=(f"Your upload {meta['title']!r}: {meta['n_items']:,} images in "
                     f"{len(meta['classes'])} classes ({', '.join(meta['classes'])})."))
