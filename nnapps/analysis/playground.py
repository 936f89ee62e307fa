"""The Playground's processing: a person's drawing, picture, text or recording made into the
form the models were trained on, and every chosen run's probabilities for it.

Only the first step differs from the test split's path (a canvas is not an 8x8 digit, a phone
recording is not an 8 kHz clip); after it, items go through each run's saved preprocessor and
model exactly as test items do (pipeline.Predictor).
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from nnapps.data import audio as sound
from nnapps.data.dataset import DatasetUnavailable
from nnapps.data.user_images import fit_picture, read_picture
from nnapps.features.text import OOV_ID, TextTokenizer
from nnapps.store.runs import Run

# Pixels at least this bright (after any inversion) count as ink; a dataset's ink extent is
# measured on its strongest strokes, above its noise and faint clutter.
INK_LEVEL = 0.2
STROKE_LEVEL = 0.5
MIN_RECORDING_S = 0.1
MAX_RECORDING_S = 10.0
MAX_TEXT_CHARS = 5_000
MAX_PICTURE_SIDE = 1024


class InputError(ValueError):
    """A person's input that cannot be used, with a message meant for them."""


# --- runs ----------------------------------------------------------------------------------

def best_per_family(runs: list[Run]) -> list[Run]:
    """The complete run with the best test accuracy of each family, in family order of first appearance."""
    best: dict[str, Run] = {}
    for run in runs:
        if run.status != "complete":
            continue
        held = best.get(run.config.family)
        if held is None or run.metrics["accuracy"] > held.metrics["accuracy"]:
            best[run.config.family] = run
    return list(best.values())


def as_batch(item) -> np.ndarray:
    """One prepared item as a batch of one: a text in an object array, an array with a new axis."""
    return np.asarray([item], dtype=object) if isinstance(item, str) else np.asarray(item)[None]


def predict_all(predictors: dict[str, object], item) -> dict[str, np.ndarray]:
    """Each predictor's (n_classes,) probabilities for one prepared item."""
    batch = as_batch(item)
    return {name: predict(batch)[0] for name, predict in predictors.items()}


# --- images --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageTarget:
    """What a dataset's images look like: their shape, whether they are light ink on a dark
    ground (digits, MNIST), and how much of the frame the ink spans."""

    shape: tuple[int, int, int]
    ink_on_dark: bool
    ink_extent: float
    light_ground: bool = False

    @classmethod
    def of(cls, X_train: np.ndarray, sample: int = 500) -> "ImageTarget":
        X = X_train[:sample]
        grey = X.mean(axis=1)  # (N, H, W)
        border = np.concatenate([grey[:, 0], grey[:, -1], grey[:, :, 0], grey[:, :, -1]], axis=1)
        ink_on_dark = X.shape[1] == 1 and float(np.median(border)) < INK_LEVEL
        extents = [_extent(g > STROKE_LEVEL) for g in grey] if ink_on_dark else [1.0]
        return cls(tuple(X.shape[1:]), ink_on_dark, float(np.median([e for e in extents if e > 0] or [1.0])),
                   light_ground=float(np.median(border)) > 0.5)


def _extent(mask: np.ndarray) -> float:
    """The ink's bounding box's longer side as a share of the frame's longer side."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return 0.0
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / max(mask.shape)


def picture_pixels(data: bytes, name: str) -> np.ndarray:
    """An uploaded PNG/JPEG as (H, W, C) floats in [0, 1]."""
    try:
        picture = read_picture(data, name)
    except DatasetUnavailable as err:
        raise InputError(str(err)) from None
    # A big photo is shrunk before it becomes floats; every dataset's items are far smaller.
    picture.thumbnail((MAX_PICTURE_SIDE, MAX_PICTURE_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(picture, dtype=np.float32) / 255.0
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def canvas_pixels(rgba: np.ndarray, target: ImageTarget | None = None) -> np.ndarray:
    """A canvas's (H, W, 4) RGBA bytes (light ink on a dark ground) as (H, W, 1) grey floats;
    transparent means background. For a dataset of dark ink on a light ground, the drawing is
    turned to match it."""
    rgba = np.asarray(rgba, dtype=np.float32) / 255.0
    grey = rgba[:, :, :3].mean(axis=2) * rgba[:, :, 3]
    if target is not None and target.light_ground and not target.ink_on_dark:
        grey = 1.0 - grey
    return grey[:, :, None]


def prepare_image(pixels: np.ndarray, target: ImageTarget) -> np.ndarray:
    """(H, W, C) floats in [0, 1] -> (C, H, W) as the dataset's images are.

    For ink on a dark ground the drawing is inverted when its ground is light, cropped to its
    ink, scaled so the ink spans as much of the frame as the dataset's does, and centred by its
    centre of mass (as MNIST was made). Other pictures are scaled to fit and padded, as the
    importer did. An item already of the dataset's size is taken as it is.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim != 3:
        raise InputError(f"expected a picture shaped (height, width, channels), got {pixels.shape}")
    c, h, w = target.shape
    if pixels.shape[:2] == (h, w):
        return _channels(pixels.transpose(2, 0, 1), c)
    if not target.ink_on_dark:
        picture = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8).squeeze(2)
                                  if pixels.shape[2] == 1 else
                                  np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8))
        return _channels(fit_picture(picture, h).astype(np.float32) / 255.0, c)
    grey = pixels.mean(axis=2)
    if is_light_ground(grey):
        grey = 1.0 - grey
    return _channels(_centred(grey, target)[None], c)


def is_light_ground(grey: np.ndarray) -> bool:
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border)) > 0.5


def _centred(grey: np.ndarray, target: ImageTarget) -> np.ndarray:
    mask = grey > INK_LEVEL
    if not mask.any():
        raise InputError("Nothing is drawn yet: draw a stroke, or upload a picture with something on it.")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    _, h, w = target.shape
    scale = target.ink_extent * max(h, w) / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS,
                                                                      reducing_gap=3.0))
    # Shrinking a thin stroke greys it out; the datasets' strokes reach full brightness.
    small = np.clip(small, 0, None)
    small = small / small.max() if small.max() > 0 else small
    out = np.zeros((h, w), dtype=np.float32)
    # Put the centre of mass at the frame's centre, keeping the whole ink inside the frame.
    mass = small.sum() or 1.0
    cy = (small.sum(1) * np.arange(small.shape[0])).sum() / mass
    cx = (small.sum(0) * np.arange(small.shape[1])).sum() / mass
    top = int(np.clip(round((h - 1) / 2 - cy), 0, max(h - small.shape[0], 0)))
    left = int(np.clip(round((w - 1) / 2 - cx), 0, max(w - small.shape[1], 0)))
    out[top:top + small.shape[0], left:left + small.shape[1]] = small[:h - top, :w - left]
    return out


def _channels(item: np.ndarray, c: int) -> np.ndarray:
    """(C', H, W) -> (c, H, W): grey repeated to RGB, or RGB averaged to grey."""
    if item.shape[0] == c:
        return item.astype(np.float32)
    if c == 1:
        return item.mean(axis=0, keepdims=True).astype(np.float32)
    return np.repeat(item[:1], c, axis=0).astype(np.float32)


# --- text ----------------------------------------------------------------------------------

def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InputError("Type or paste some text first.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}.")
    return text


def tokens_seen(text: str, tokenizer: TextTokenizer) -> tuple[list[tuple[str, bool]], int]:
    """The tokens a model reads, each with whether it is in the vocabulary (else it reads <unk>),
    and how many tokens past max_len it never reads."""
    tokens = tokenizer.tokens(text)
    ids = tokenizer.encode(text)
    kept = tokenizer.max_len
    return [(t, i != OOV_ID) for t, i in zip(tokens[:kept], ids[:kept])], max(0, len(tokens) - kept)


# --- sounds --------------------------------------------------------------------------------

def recording_samples(data: bytes, name: str) -> tuple[np.ndarray, int]:
    """A recording or uploaded file decoded to mono samples and its rate."""
    try:
        return sound.decode(data, name, MAX_RECORDING_S)
    except DatasetUnavailable as err:
        raise InputError(str(err)) from None


def prepare_sound(samples: np.ndarray, rate: int, target_rate: int, n_samples: int) -> np.ndarray:
    """Mono samples at any rate -> (n_samples,) at target_rate, as the dataset's clips are.

    A longer recording keeps its loudest stretch of the clip's length (people leave silence
    before and after a word); a shorter one is padded with silence.
    """
    seconds = len(samples) / rate
    if seconds < MIN_RECORDING_S:
        raise InputError(f"The recording lasts {seconds:.2f} s; record at least {MIN_RECORDING_S:g} s.")
    if seconds > MAX_RECORDING_S:
        raise InputError(f"The recording lasts {seconds:.1f} s; the limit is {MAX_RECORDING_S:g} s. "
                         "Record just the sound you want classified.")
    if sound.is_silent(samples):
        raise InputError("The recording is silent: check the microphone, or speak louder.")
    clip = sound.resample(np.asarray(samples, dtype=np.float32), rate, target_rate)
    return sound.fit_length(sound.loudest_stretch(clip, n_samples), n_samples)
