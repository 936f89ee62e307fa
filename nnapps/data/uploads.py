"""The user's own datasets: uploads stored once under NNAPPS_HOME and registered by content hash.

An upload (bytes from the UI) or a path (from the command line) is validated and kept as
uploads/user-<hash>.<zip|csv|tsv>, so a run trained on it can be reloaded after a restart and
two identical uploads are one dataset. A zip of class folders holds images or sounds (told
apart by its files); a CSV or TSV file holds texts and labels (the chosen columns are part of
the dataset's identity).
"""

import hashlib
import json
import re
from pathlib import Path

from nnapps.limits import UPLOAD_MB, over
from nnapps.paths import home_dir, write_atomically
from nnapps.data import text_table, user_audio, user_images
from nnapps.data.archive import member_suffixes
from nnapps.data.audio import AUDIO_SUFFIXES
from nnapps.data.dataset import DatasetSpec, DatasetUnavailable, ProgressFn, RawData, StopFn

# The Data page's uploader reads this once (it takes whole MB); the checks below read the limit
# each time. No limit (inf) is a size no upload reaches.
MAX_ARCHIVE_BYTES = int(min(UPLOAD_MB.value(), 2**30) * 2**20)
ARCHIVE_SUFFIXES = (".zip",)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
NOUNS = {"image": "images", "text": "texts", "audio": "sounds"}
# Sound formats people often have that libsndfile (so nnapps) does not read.
OTHER_SOUND_SUFFIXES = (".mp3", ".m4a", ".aac", ".wma", ".opus", ".webm")


_NAME = re.compile(r"user-[0-9a-f]{12}")


def is_upload_name(name) -> bool:
    """Whether name has the form of an upload's name (here or on another copy)."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name))


def _uploads_dir() -> Path:
    path = home_dir() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_suffix(filename: str) -> None:
    if not filename.lower().endswith(ARCHIVE_SUFFIXES + TEXT_SUFFIXES):
        raise DatasetUnavailable(f"{filename}: expected a .zip of class folders of images or sounds, "
                                 "or a .csv/.tsv file of texts and labels")


def _modality(filename: str, data: bytes) -> str:
    _check_suffix(filename)
    if filename.lower().endswith(TEXT_SUFFIXES):
        return "text"
    found = member_suffixes(data)
    unsupported = found & set(OTHER_SOUND_SUFFIXES)
    if unsupported and not found & set(AUDIO_SUFFIXES + user_images.IMAGE_SUFFIXES):
        raise DatasetUnavailable(f"{filename} holds {', '.join(sorted(unsupported))} sounds; convert them "
                                 "to WAV, FLAC or OGG (for example with ffmpeg or Audacity)")
    has_sounds = bool(found & set(AUDIO_SUFFIXES))
    if has_sounds and found & set(user_images.IMAGE_SUFFIXES):
        raise DatasetUnavailable(f"{filename} holds both images and sounds; put one kind in an archive")
    return "audio" if has_sounds else "image"


def _read(data: bytes, meta: dict, progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> RawData:
    if meta["modality"] == "image":
        return user_images.load_image_archive(data, progress=progress, should_stop=should_stop)
    if meta["modality"] == "audio":
        return user_audio.load_audio_archive(data, progress=progress, should_stop=should_stop)
    return text_table.load_text_table(data, meta.get("text_column"), meta.get("label_column"))


def store_upload(data: bytes, filename: str, text_column: str | None = None,
                 label_column: str | None = None, progress: ProgressFn | None = None,
                 should_stop: StopFn | None = None) -> DatasetSpec:
    """Validate an upload, store it, and return its spec.

    Raises DatasetUnavailable with a message for a person when the file is unusable, and its
    subclass DecodingStopped when should_stop said to stop; either way nothing is stored.
    progress(fraction, message) hears how far decoding is, ending at 1.
    """
    if why := over(UPLOAD_MB, len(data) / 2**20):
        raise DatasetUnavailable(f"{filename}: the file is {len(data) / 2**20:.1f} MB; {why}")
    identity = hashlib.sha256(data)
    identity.update(json.dumps([text_column, label_column]).encode())
    name = "user-" + identity.hexdigest()[:12]
    folder = _uploads_dir()
    suffix = Path(filename).suffix.lower()
    data_path, meta_path = folder / f"{name}{suffix}", folder / f"{name}.json"
    if data_path.exists() and meta_path.exists():
        # Stored and checked before (a page rerun keeps the file in its widget): no re-decoding.
        if progress is not None:
            progress(1.0, "stored before")
        return _spec(name, json.loads(meta_path.read_text()), data_path)
    modality = _modality(filename, data)
    meta = {"title": filename, "modality": modality, "suffix": suffix}
    if modality == "text":
        meta.update(text_column=text_column, label_column=label_column)
    raw = _read(data, meta, progress, should_stop)  # raises with a clear message when unusable
    meta.update(n_items=int(len(raw.y)), classes=list(raw.class_names), notes=list(raw.notes))
    if not data_path.exists():
        write_atomically(data_path, data)
    # Other processes list the uploads by reading these files: never let them see one half written.
    write_atomically(meta_path, json.dumps(meta).encode())
    if progress is not None:
        progress(1.0, "stored")
    return _spec(name, meta, data_path)


def store_archive(data: bytes, title: str) -> DatasetSpec:
    """A zip of class folders of images or sounds."""
    return store_upload(data, title if title.lower().endswith(".zip") else f"{title}.zip")


def store_path(path: Path, text_column: str | None = None, label_column: str | None = None) -> DatasetSpec:
    """Store a folder or zip of class folders (images or sounds), or a CSV/TSV file, given on the
    command line by whoever runs the machine.

    Never with a path a visitor sent: nothing the registry resolves reaches here. A public copy
    refuses it outright, so that nothing the server reads from its own disk becomes an upload.
    """
    from nnapps.limits import PUBLIC_VARIABLE, is_public
    if is_public():
        raise DatasetUnavailable(f"this copy is public ({PUBLIC_VARIABLE}=1): it stores no data read from "
                                 "its own disk; upload the file on the Data page, or run this command "
                                 f"with {PUBLIC_VARIABLE}=0 to add it for everyone")
    path = Path(path)
    if path.is_dir():
        return store_upload(user_images.zip_folder(path), f"{path.name}.zip")
    # Some well-known text collections are published without a suffix (the UCI SMS collection
    # is a file named SMSSpamCollection): on the command line such a file is read as a table.
    filename = path.name if path.suffix else f"{path.name}.txt"
    _check_suffix(filename)
    if why := over(UPLOAD_MB, path.stat().st_size / 2**20):
        raise DatasetUnavailable(f"{path}: {path.stat().st_size / 2**20:.1f} MB; {why}")
    return store_upload(path.read_bytes(), filename, text_column, label_column)


def stored_specs() -> list[DatasetSpec]:
    specs = []
    for meta_path in sorted(_uploads_dir().glob("user-*.json")):
        meta = json.loads(meta_path.read_text())
        data_path = meta_path.with_suffix(meta.get("suffix", ".zip"))
        if data_path.exists():
            specs.append(_spec(meta_path.stem, meta, data_path))
    return specs


def delete_upload(name: str) -> None:
    for path in _uploads_dir().glob(f"{name}.*"):
        path.unlink(missing_ok=True)


def _spec(name: str, meta: dict, data_path: Path) -> DatasetSpec:
    def load(seed: int = 0, progress=None) -> RawData:
        return _read(data_path.read_bytes(), meta)

    audio = meta["modality"] == "audio"
    extra = (f" Mixed down to mono at {user_audio.SAMPLE_RATE // 1000} kHz and padded or cut to "
             "one length." if audio else "")
    return DatasetSpec(
        name=name, title=f"{meta['title']} (yours)", modality=meta["modality"], origin="upload",
        licence="yours", load=load, notes=tuple(meta.get("notes", ())),
        sample_rate=user_audio.SAMPLE_RATE if audio else 0,
        description=(f"Your upload {meta['title']!r}: {meta['n_items']:,} {NOUNS[meta['modality']]} in "
                     f"{len(meta['classes'])} classes ({', '.join(meta['classes'][:20])}).{extra}"))
