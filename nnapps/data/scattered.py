"""Scattered digits: a dataset the project makes, where a digit's position and size vary.

Each item is one of scikit-learn's 8x8 digits, scaled to 10-20 pixels and dropped at a random
place on a 28x28 canvas with pixel noise and faint fragments of other digits as clutter. A
fully connected network has to learn every position separately; a convolutional one shares
its filters across positions, which is why architecture matters here. Glyphs are split
between train/val/test before the canvases are made, so the test split holds handwriting the
models never saw, not the same strokes moved elsewhere.
"""

import numpy as np
from PIL import Image

from nnapps.data.dataset import DatasetSpec, RawData
from nnapps.data.splits import split_indices

CANVAS = 28
CANVASES_PER_GLYPH = 4
SCALE_RANGE = (10, 20)
NOISE_STD = 0.12
N_CLUTTER = 2


def make(seed: int = 0, canvases_per_glyph: int = CANVASES_PER_GLYPH, progress=None) -> RawData:
    """Generate the dataset; the same seed gives the same pixels and the same split."""
    from sklearn.datasets import load_digits  # imported here: naming datasets needs no scikit-learn

    bunch = load_digits()
    glyphs = (bunch.images / 16.0).astype(np.float32)  # (G, 8, 8)
    labels = bunch.target.astype(np.int64)
    train_g, val_g, test_g = split_indices(labels, seed)
    glyph_split = np.empty(len(labels), dtype=np.int64)
    glyph_split[train_g], glyph_split[val_g], glyph_split[test_g] = 0, 1, 2

    rng = np.random.default_rng(seed)
    n = len(glyphs) * canvases_per_glyph
    X = np.empty((n, 1, CANVAS, CANVAS), dtype=np.float32)
    y = np.repeat(labels, canvases_per_glyph)
    split = np.repeat(glyph_split, canvases_per_glyph)
    source = np.repeat(np.arange(len(glyphs)), canvases_per_glyph)
    for i, g in enumerate(source):
        X[i, 0] = _canvas(glyphs[g], glyphs, glyph_split == glyph_split[g], rng)
        if progress and i % 1000 == 0:
            progress(i / n, f"made {i:,} of {n:,} canvases")
    return RawData(X=X, y=y, class_names=[str(d) for d in range(10)], split=split)


def _canvas(glyph: np.ndarray, glyphs: np.ndarray, same_split: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    # Clutter comes from glyphs of the same split so no test handwriting leaks into training.
    pool = np.flatnonzero(same_split)
    for _ in range(N_CLUTTER):
        other = _resize(glyphs[rng.choice(pool)], int(rng.integers(6, 11)))
        piece = other[: other.shape[0] // 2] if rng.random() < 0.5 else other[:, : other.shape[1] // 2]
        _paste_max(canvas, piece * rng.uniform(0.25, 0.45), rng)
    size = int(rng.integers(SCALE_RANGE[0], SCALE_RANGE[1] + 1))
    _paste_max(canvas, _resize(glyph, size), rng)
    canvas += rng.normal(0.0, NOISE_STD, canvas.shape).astype(np.float32)
    return np.clip(canvas, 0.0, 1.0)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    pil = Image.fromarray((img * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    return np.asarray(pil, dtype=np.float32) / 255.0


def _paste_max(canvas: np.ndarray, piece: np.ndarray, rng: np.random.Generator) -> None:
    h, w = piece.shape
    top = int(rng.integers(0, CANVAS - h + 1))
    left = int(rng.integers(0, CANVAS - w + 1))
    region = canvas[top:top + h, left:left + w]
    np.maximum(region, piece, out=region)


def load(seed: int = 0, progress=None) -> RawData:
    return make(seed, progress=progress)


SPEC = DatasetSpec(
    name="scattered-digits",
    title="Scattered digits (28x28, made)",
    modality="image",
    origin="made",
    licence="CC BY 4.0 (made by nnapps from scikit-learn's digits)",
    description=("Made by nnapps from a seed: each of scikit-learn's 8x8 digits is scaled to 10-20 "
                 "pixels and placed at a random spot on a 28x28 canvas, with pixel noise and faint "
                 "fragments of other digits as clutter (4 canvases per digit, 7,188 images). Test "
                 "images use handwriting never seen in training. Position varies, so a CNN, whose "
                 "filters slide over the image, beats an MLP of the same size."),
    load=load,
)
