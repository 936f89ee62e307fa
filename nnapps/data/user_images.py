"""A user's images: a zip of one folder per class, checked and decoded in memory into RawData.

Every image's size is read from its header first (Pillow opens lazily), so an upload whose
pixels would take long to decode is refused before any is decoded.
"""

import io
import os
import warnings
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from nnapps.limits import DECODED_MB, IMAGE_SIDE, MEGAPIXELS, UPLOAD_MB, over
from nnapps.data.archive import FolderRules, labelled_members, open_member, open_zip, read_member
from nnapps.data.dataset import DatasetUnavailable, ProgressFn, RawData, StopFn, decode_each

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_FORMATS = ("PNG", "JPEG")
MIN_CLASSES = 2
MIN_IMAGES_PER_CLASS = 2
# JPEG may round a grey picture saved as RGB to channels a level or two apart; still grey.
GREY_TOLERANCE = 2
# Fixed timestamps make zipping the same folder twice give the same bytes (uploads hash them).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
_WHITE = (255, 255, 255, 255)


def load_image_archive(data: bytes, size: int = 32, progress: ProgressFn | None = None,
                       should_stop: StopFn | None = None) -> RawData:
    """Decode a zip of class folders (PNG/JPEG) into (N, C, size, size) images in [0, 1].

    C is 1 when every image is grey, else 3. Raises DatasetUnavailable with a message for a
    person when the archive is unsafe, too big, badly laid out or holds an unreadable image.
    progress hears after each image; should_stop, asked before each, ends it with DecodingStopped.
    """
    with open_zip(data) as archive:
        labelled, class_names = labelled_members(archive, _rules())
        _check_costs(archive, [info for info, _ in labelled], size)
        images = decode_each([info for info, _ in labelled], lambda info: _decode(archive, info, size),
                             "images", progress, should_stop)
    index = {name: i for i, name in enumerate(class_names)}
    y = np.array([index[name] for _, name in labelled], dtype=np.int64)
    return RawData(X=_stack(images), y=y, class_names=class_names)


def _rules() -> FolderRules:
    return FolderRules(noun="images", formats="PNG or JPEG images", suffixes=IMAGE_SUFFIXES,
                       min_classes=MIN_CLASSES, min_per_class=MIN_IMAGES_PER_CLASS)


def _check_costs(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], size: int) -> None:
    """Refuse, from the headers alone, an upload whose pixels would take too long to decode or
    whose decoded images would not fit in memory."""
    pixels = 0
    for info in members:
        with open_member(archive, info, "images") as stream:  # only the header is decompressed
            picture = _opened(stream, info.filename, size)
            pixels += picture.size[0] * picture.size[1]
    if why := over(MEGAPIXELS, pixels / 1e6):
        raise DatasetUnavailable(f"the {len(members):,} images hold {pixels / 1e6:,.0f} million pixels "
                                 f"to decode; {why}")
    decoded_mb = len(members) * 3 * size * size * 4 / 2**20  # float32, colour at worst
    if why := over(DECODED_MB, decoded_mb):
        raise DatasetUnavailable(f"{len(members):,} images of {size} x {size} take {decoded_mb:,.0f} MB "
                                 f"decoded; {why}")


def zip_folder(path: Path) -> bytes:
    """Zip a folder of class folders into memory, paths relative to it, in sorted order.

    Hidden entries are left out, and so are symlinks that lead outside the folder; symlinked
    folders are not followed, so a link back up cannot loop.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetUnavailable(f"{root}: no such folder")
    files = _folder_files(root)
    total = sum(f.stat().st_size for f in files)
    if why := over(UPLOAD_MB, total / 2**20):
        raise DatasetUnavailable(f"{root}: {total / 2**20:.1f} MB of files; {why}")
    buffer = io.BytesIO()
    # Images and most sounds are compressed already, so storing costs little space and no time.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(root).as_posix(), date_time=ZIP_DATE_TIME)
            archive.writestr(info, file.read_bytes())
    data = buffer.getvalue()
    if why := over(UPLOAD_MB, len(data) / 2**20):
        raise DatasetUnavailable(f"{root}: the zipped folder is {len(data) / 2**20:.1f} MB; {why}")
    return data


def _folder_files(root: Path) -> list[Path]:
    resolved_root = root.resolve()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            file = Path(dirpath) / name
            if name.startswith(".") or not file.is_file():
                continue
            if file.is_symlink() and not file.resolve().is_relative_to(resolved_root):
                continue
            files.append(file)
    return sorted(files, key=lambda f: f.relative_to(root).as_posix())


def read_picture(data: bytes, name: str) -> Image.Image:
    """One PNG or JPEG file as an upright L or RGB picture (transparency laid over white);
    DatasetUnavailable names the file when it is unreadable or too large."""
    picture = _open_image(io.BytesIO(data), name)
    try:
        return _flatten(ImageOps.exif_transpose(picture))
    except Exception:  # malformed pixel or EXIF data surfaces as many exception types in Pillow
        raise _unreadable(name) from None


def fit_picture(picture: Image.Image, size: int) -> np.ndarray:
    """A picture scaled to fit size x size and padded, as the importer does: (C, size, size) uint8."""
    return _to_channels(_fit(picture, size))


def _decode(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> np.ndarray:
    """One member as a (1 or 3, size, size) uint8 array: 1 channel when the picture is grey."""
    picture = _opened(io.BytesIO(read_member(archive, info, "images")), info.filename, size)
    try:
        picture = ImageOps.exif_transpose(picture)  # phones store rotation in EXIF, not pixels
        flat = _flatten(picture)
    except Exception:  # malformed pixel or EXIF data surfaces as many exception types in Pillow
        raise _unreadable(info.filename) from None
    return _to_channels(_fit(flat, size))


def _opened(stream: IO[bytes], name: str, size: int) -> Image.Image:
    """A member opened lazily; a JPEG set to decode at the smallest scale that still covers size
    (its .size is then what decoding costs)."""
    picture = _open_image(stream, name)
    if picture.format == "JPEG":
        try:
            picture.draft(picture.mode, (size, size))  # decode big photos at a reduced scale
        except Exception:  # a malformed header surfaces as many exception types in Pillow
            raise _unreadable(name) from None
    return picture


def _unreadable(name: str) -> DatasetUnavailable:
    return DatasetUnavailable(f"{name} is not a readable PNG or JPEG image")


def _open_image(stream: IO[bytes], name: str) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns at its own pixel limit; a bomb must fail here, not exhaust memory.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = Image.open(stream, formats=IMAGE_FORMATS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise DatasetUnavailable(f"{name} has more pixels than Pillow decodes safely "
                                     f"({Image.MAX_IMAGE_PIXELS:,})") from None
        except (OSError, SyntaxError, ValueError):
            raise _unreadable(name) from None
    width, height = picture.size
    if why := over(IMAGE_SIDE, max(width, height)):
        raise DatasetUnavailable(f"{name} is {width} x {height} pixels; {why}")
    return picture


def _flatten(picture: Image.Image) -> Image.Image:
    """The picture in mode L or RGB, with any transparency laid over white."""
    if picture.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion to L clips 16-bit values instead of scaling them.
        levels = np.asarray(picture, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.round(levels), 0, 255).astype(np.uint8), mode="L")
    if picture.mode in ("1", "L"):
        return picture.convert("L")
    if picture.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in picture.info:
        background = Image.new("RGBA", picture.size, _WHITE)
        return Image.alpha_composite(background, picture.convert("RGBA")).convert("RGB")
    return picture.convert("RGB")


def _fit(picture: Image.Image, size: int) -> np.ndarray:
    """Scale to fit inside size x size, keeping the aspect ratio; pad with the border's median."""
    width, height = picture.size
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = picture.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(resized, dtype=np.uint8).reshape(new_h, new_w, -1)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    canvas = np.empty((size, size, pixels.shape[2]), dtype=np.uint8)
    canvas[:] = np.round(np.median(border, axis=0)).astype(np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = pixels
    return canvas


def _to_channels(pixels: np.ndarray) -> np.ndarray:
    """(size, size, C) to channels first, folding an RGB picture with equal channels to one."""
    if pixels.shape[2] == 3:
        spread = pixels.max(axis=2).astype(np.int16) - pixels.min(axis=2)
        if spread.max() <= GREY_TOLERANCE:
            pixels = np.round(pixels.mean(axis=2, keepdims=True)).astype(np.uint8)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """One array for all images: 1 channel if every image is grey, else grey ones repeated to RGB."""
    channels = max(image.shape[0] for image in images)
    stacked = np.stack([np.repeat(image, channels // image.shape[0], axis=0) for image in images])
    return stacked.astype(np.float32) / 255.0
