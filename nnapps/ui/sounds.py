"""Sounds for display: spectrogram pictures, low pitches at the bottom."""

import numpy as np
from PIL import Image

from nnapps.features.audio import log_mel

# Spectrograms shown to people use one setting, whatever a model was trained with.
WINDOW_MS, HOP_MS, N_MELS = 25.0, 10.0, 40
DYNAMIC_RANGE_DB = 70.0
# Anchors of matplotlib's "magma" colour map: dark for quiet, bright for loud, and readable
# for colour-blind people; interpolated into 256 levels.
_ANCHORS = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                     [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c])
                 for c in range(3)], axis=1).astype(np.uint8)


def spectrograms(clips: np.ndarray, rate: int) -> np.ndarray:
    """(N, L) samples -> (N, N_MELS, frames) decibels, all in one STFT call."""
    return log_mel(np.atleast_2d(clips), rate, WINDOW_MS, HOP_MS, N_MELS)


def to_picture(db: np.ndarray, scale: int = 2) -> Image.Image:
    """One (n_mels, frames) spectrogram as an RGB picture, its loudest DYNAMIC_RANGE_DB shown."""
    top = float(db.max())
    levels = np.clip((db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0, 1)
    pixels = _LUT[np.round(levels[::-1] * 255).astype(np.uint8)]  # low bands at the bottom
    picture = Image.fromarray(pixels)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
