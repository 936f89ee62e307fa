"""Zips of class folders (cats/1.png, dogs/2.png ...), read in memory, never extracted.

What the image and sound importers share: member names are checked so none can point outside
the archive, counts and sizes are bounded before anything is decompressed, and each file is
paired with its class folder. Every problem is a DatasetUnavailable with a message for a person.
"""

import io
import re
import zipfile
from dataclasses import dataclass
from typing import IO

from nnapps.limits import ARCHIVE_MB, CLASSES, DATASET_ITEMS, MEMBER_MB, over
from nnapps.data.dataset import DatasetUnavailable

_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_ERRORS = (zipfile.BadZipFile, NotImplementedError, OSError, EOFError)


@dataclass(frozen=True)
class FolderRules:
    """What one importer accepts: which files, and how few (how many is the limits' business)."""

    noun: str            # "images", "sounds"
    formats: str         # for messages: "PNG or JPEG images"
    suffixes: tuple[str, ...]
    min_classes: int = 2
    min_per_class: int = 2


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise DatasetUnavailable(f"not a zip archive ({error})") from None


def labelled_members(archive: zipfile.ZipFile,
                     rules: FolderRules) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[str]]:
    """Each accepted member with its class, sorted by name, and the sorted class names."""
    members = _members(archive, rules)
    _check_sizes(members, rules)
    labelled = _assign_classes(members)
    class_names = sorted({name for _, name in labelled})
    _check_classes(labelled, class_names, rules)
    return labelled, class_names


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, noun: str = "files") -> bytes:
    with open_member(archive, info, noun) as stream:
        try:
            return stream.read()
        except _ZIP_ERRORS as error:
            raise _unreadable_member(info, error) from None


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, noun: str = "files") -> IO[bytes]:
    """A member as a seekable stream, decompressed only as far as it is read: enough for a
    file's header, without decompressing the whole of it."""
    if info.flag_bits & 0x1:
        raise DatasetUnavailable(f"{info.filename} is encrypted; zip the {noun} without a password")
    try:
        return archive.open(info)
    except _ZIP_ERRORS as error:
        raise _unreadable_member(info, error) from None


def _unreadable_member(info: zipfile.ZipInfo, error: Exception) -> DatasetUnavailable:
    return DatasetUnavailable(f"{info.filename} could not be read from the archive ({error})")


def parts(name: str) -> tuple[str, ...]:
    # Zips made on Windows can use backslashes; treat them as separators so none slip past.
    return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def check_safe(name: str) -> None:
    clean = name.replace("\\", "/")
    if clean.startswith("/") or _DRIVE.match(clean) or ".." in clean.split("/"):
        raise DatasetUnavailable(f"the archive member {name!r} points outside the archive "
                                 "(absolute path or '..'); refusing it")


def member_suffixes(data: bytes) -> set[str]:
    """The lower-case suffixes of a zip's files (after the name checks), to tell what it holds."""
    with open_zip(data) as archive:
        infos = archive.infolist()
        for info in infos:
            check_safe(info.filename)
        return {"." + p[-1].rsplit(".", 1)[-1].lower() for p in (parts(i.filename) for i in infos)
                if p and "." in p[-1] and not _is_hidden(p)}


def _is_hidden(path_parts: tuple[str, ...]) -> bool:
    return path_parts[0] == "__MACOSX" or any(p.startswith(".") for p in path_parts)


def _members(archive: zipfile.ZipFile, rules: FolderRules) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    for info in infos:
        check_safe(info.filename)

    def wanted(info: zipfile.ZipInfo) -> bool:
        p = parts(info.filename)
        return (not info.is_dir() and bool(p) and not _is_hidden(p)
                and p[-1].lower().endswith(rules.suffixes))

    members = sorted((i for i in infos if wanted(i)), key=lambda i: i.filename)
    if not members:
        raise DatasetUnavailable(f"no {rules.formats} found in the archive; expected one folder "
                                 f"of {rules.noun} per class")
    return members


def _check_sizes(members: list[zipfile.ZipInfo], rules: FolderRules) -> None:
    if why := over(DATASET_ITEMS, len(members)):
        raise DatasetUnavailable(f"the archive holds {len(members):,} {rules.noun}; {why}")
    for info in members:
        if why := over(MEMBER_MB, info.file_size / 2**20):
            raise DatasetUnavailable(f"{info.filename} is {info.file_size / 2**20:.1f} MB uncompressed; {why}")
    total = sum(info.file_size for info in members) / 2**20
    if why := over(ARCHIVE_MB, total):
        raise DatasetUnavailable(f"the {rules.noun} come to {total:,.0f} MB uncompressed; {why}")


def _assign_classes(members: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    """Pair each file with its class: the top folder, under one wrapping folder if there is one."""
    paths = [parts(info.filename) for info in members]
    wrapped = all(len(p) >= 3 for p in paths) and len({p[0] for p in paths}) == 1
    if wrapped:
        paths = [p[1:] for p in paths]
    for info, path in zip(members, paths):
        if len(path) < 2:
            raise DatasetUnavailable(f"{info.filename} is not inside a class folder; put each "
                                     "class's files in a folder named after the class")
    return [(info, path[0]) for info, path in zip(members, paths)]


def _check_classes(labelled: list[tuple[zipfile.ZipInfo, str]], class_names: list[str],
                   rules: FolderRules) -> None:
    if len(class_names) < rules.min_classes:
        found = f"{len(class_names)} class{'es' if len(class_names) != 1 else ''}"
        raise DatasetUnavailable(f"found {found} ({', '.join(class_names)}); need at least two "
                                 f"folders of {rules.noun}, one per class")
    if why := over(CLASSES, len(class_names)):
        raise DatasetUnavailable(f"found {len(class_names):,} classes; {why}")
    counts = {name: 0 for name in class_names}
    for _, name in labelled:
        counts[name] += 1
    few = [f"{name} ({n})" for name, n in counts.items() if n < rules.min_per_class]
    if few:
        raise DatasetUnavailable(f"each class needs at least {rules.min_per_class} {rules.noun}; too "
                                 f"few in: {', '.join(few)}")
