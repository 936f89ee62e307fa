"""Sound as the models take it: mono float32 samples at one rate, one fixed length per dataset.

Decoding goes through soundfile (libsndfile: WAV, FLAC, OGG) and resampling through soxr,
both maintained libraries; every problem with a file becomes a DatasetUnavailable that names it.
"""

import io

import numpy as np
import soundfile as sf
import soxr

from nnapps.data.dataset import DatasetUnavailable

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
# A clip whose loudest sample is below this (-60 dBFS) holds nothing a model could learn from.
SILENCE_PEAK = 1e-3
# What soundfile raises for a file it cannot read (never a DatasetUnavailable: see decode).
DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError, EOFError)
# Float files may exceed full scale a little; far beyond it they are broken, not loud.
MAX_PEAK = 16.0


def decode(data: bytes, name: str, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """A file's samples, mixed down to mono float32, and its sample rate.

    With max_seconds, a longer file is refused from its header, before anything is decoded:
    a small FLAC of a steady tone can hold hours of sound.
    """
    try:
        info = sf.info(io.BytesIO(data))
    except DECODE_ERRORS as err:
        raise unreadable(name, err) from None
    # Refused outside the try: DatasetUnavailable is a RuntimeError, which would read as unreadable.
    if max_seconds is not None and info.samplerate > 0 and info.frames / info.samplerate > max_seconds:
        raise DatasetUnavailable(f"{name} is {info.frames / info.samplerate:.1f} s long; clips may be at "
                                 f"most {max_seconds:g} s (cut long recordings into short clips)")
    # frames caps the decoding too, in case a header understates the length.
    limit = -1 if max_seconds is None else int(max_seconds * info.samplerate) + 1
    try:
        samples, rate = sf.read(io.BytesIO(data), frames=limit, dtype="float32", always_2d=True)
    except DECODE_ERRORS as err:
        raise unreadable(name, err) from None
    if samples.shape[0] == 0:
        raise DatasetUnavailable(f"{name} holds no samples")
    if not np.isfinite(samples).all() or np.abs(samples).max() > MAX_PEAK:
        raise DatasetUnavailable(f"{name} holds samples that are not finite or far beyond full scale")
    # A mono file's one channel as it is: mean() would copy it (100 MB for spoken digits).
    return (samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)), int(rate)


def unreadable(name: str, err: Exception) -> DatasetUnavailable:
    return DatasetUnavailable(f"{name} is not a readable WAV, FLAC or OGG file ({err})")


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, rate, target).astype(np.float32, copy=False)


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Cut a longer clip's end, or pad a shorter one with silence, to exactly n samples."""
    out = np.zeros(n, dtype=np.float32)
    m = min(n, len(samples))
    out[:m] = samples[:m]
    return out


def loudest_stretch(samples: np.ndarray, n: int) -> np.ndarray:
    """The n samples of a longer clip that hold the most energy (a recording's word, not the
    silence before it); a clip of n samples or fewer as it is."""
    if len(samples) <= n:
        return samples
    energy = np.concatenate([[0.0], np.cumsum(np.square(samples, dtype=np.float64))])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    return samples[start:start + n]


def is_silent(samples: np.ndarray) -> bool:
    return len(samples) == 0 or float(np.abs(samples).max()) < SILENCE_PEAK


def load_clip(data: bytes, name: str, rate: int, max_seconds: float) -> np.ndarray:
    """One file as mono samples at rate; refuses silent and over-long clips by name."""
    samples, source_rate = decode(data, name, max_seconds)
    if len(samples) / source_rate > max_seconds:
        raise DatasetUnavailable(f"{name} is longer than {max_seconds:g} s; clips may be at most "
                                 f"{max_seconds:g} s (cut long recordings into short clips)")
    if is_silent(samples):
        raise DatasetUnavailable(f"{name} is silent (its loudest sample is below -60 dBFS)")
    clip = resample(samples, source_rate, rate)
    if len(clip) == 0:
        raise DatasetUnavailable(f"{name} is too short to hold a sample at {rate} Hz")
    return clip


def to_wav(samples: np.ndarray, rate: int) -> bytes:
    """16-bit WAV bytes for a player."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1, 1), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
