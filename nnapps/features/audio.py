"""Log-mel spectrograms: how loud each band of pitches is in each short window of a sound.

The short-time Fourier transform is torch's; the mel filterbank is librosa's (a maintained,
widely checked implementation). Bands are standardised with the training split's statistics,
which are saved with the run, so a new recording goes through exactly the test split's steps.
"""

import functools
import hashlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from nnapps.models.family import InputInfo

AMIN = 1e-10          # power floor before the logarithm (librosa.power_to_db's amin)
# Bytes of STFT work per chunk of clips (complex spectrum, power, mel): memory stays flat
# whatever the clip length and settings. 16 MB: at 64 MB, extracting spoken digits' features
# took 200 MB more at its peak (benchmarks/executor_memory.py) for no measurable speed.
CHUNK_BYTES = 16 * 2**20
# Spectrogram cells (bands x frames) per clip: beyond this a model's input would be huge.
MAX_CELLS = 128 * 1024
CACHE_BYTES = 192 * 2**20
# Frames this far below a clip's loudest are silence when they are at its start or end: quieter
# than a room's hum under speech, louder than the noise floor of a 16-bit recording.
TRIM_DB = 40.0
# librosa warns (and we raise instead) when a band would hold no frequency bin.
warnings.filterwarnings("ignore", message="Empty filters detected")

_cache: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_cache_lock = threading.Lock()


def frame_sizes(sample_rate: int, window_ms: float, hop_ms: float) -> tuple[int, int, int]:
    """(window, hop, n_fft) in samples: the FFT is the next power of two the window fits in."""
    window = max(8, round(sample_rate * window_ms / 1000))
    hop = max(1, round(sample_rate * hop_ms / 1000))
    return window, hop, 1 << (window - 1).bit_length()


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters from librosa, Slaney-normalised (read-only)."""
    import librosa  # imported here: it pulls in numba, which only sound needs

    bank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)
    if (bank.max(axis=1) == 0).any():
        raise ValueError(f"{n_mels} mel bands are too many for a {n_fft}-point FFT at "
                         f"{sample_rate} Hz: some bands would hold no frequency. Use fewer "
                         "bands or a longer window")
    bank.setflags(write=False)
    return bank


def log_mel(X: np.ndarray, sample_rate: int, window_ms: float, hop_ms: float, n_mels: int) -> np.ndarray:
    """(N, L) samples -> (N, n_mels, frames) float32 decibels of mel-band power.

    Frames are centred on multiples of the hop (the clip is zero-padded by half a window at
    each end), as librosa.feature.melspectrogram does; results are cached per input.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"expected sounds shaped (N, samples), got {X.shape}")
    key = (hashlib.blake2b(X.data, digest_size=16).hexdigest(), X.shape, sample_rate,
           window_ms, hop_ms, n_mels)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    window, hop, n_fft = frame_sizes(sample_rate, window_ms, hop_ms)
    if X.shape[1] < window:
        raise ValueError(f"clips of {X.shape[1]} samples are shorter than one {window_ms:g} ms window")
    frames = 1 + X.shape[1] // hop
    if n_mels * frames > MAX_CELLS:
        raise ValueError(f"{n_mels} bands x {frames} frames per clip is too large a spectrogram (the "
                         f"limit is {MAX_CELLS:,} cells); use a longer hop or fewer bands")
    bank = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels).copy())
    hann = torch.hann_window(window)
    chunk = max(1, CHUNK_BYTES // ((n_fft // 2 + 1) * frames * 16))
    parts = []
    with torch.no_grad():
        for start in range(0, len(X), chunk):
            # A copy of the chunk (a small part of the STFT's own memory): the pages share
            # datasets read-only, and torch will not wrap a read-only array.
            spec = torch.stft(torch.from_numpy(np.array(X[start:start + chunk])), n_fft, hop_length=hop,
                              win_length=window, window=hann, center=True, pad_mode="constant",
                              return_complex=True)
            power = spec.real.square() + spec.imag.square()  # (n, n_fft // 2 + 1, frames)
            mel = torch.matmul(bank, power)
            parts.append((10.0 * torch.log10(mel.clamp(min=AMIN))).numpy())
    out = np.concatenate(parts) if parts else np.zeros((0, n_mels, frames), np.float32)
    out.setflags(write=False)  # shared by every caller through the cache
    _remember(key, out)
    return out


def trim_silence(X: np.ndarray, sample_rate: int, hop_ms: float) -> np.ndarray:
    """(N, L) clips -> (N, L): each clip's quiet start and end cut, by whole hops, and the sound
    moved to the start and padded with silence.

    What librosa.effects.trim does for one clip, done for all at once: one at a time through
    librosa takes seconds for a few thousand clips, every time a split is transformed.
    """
    X = np.asarray(X, dtype=np.float32)
    hop = frame_sizes(sample_rate, hop_ms, hop_ms)[1]
    n, length = X.shape
    n_frames = -(-length // hop)
    out = np.zeros_like(X)
    chunk = max(1, CHUNK_BYTES // (n_frames * hop * 4))
    for first in range(0, n, chunk):
        part = X[first:first + chunk]
        padded = np.zeros((len(part), n_frames * hop), dtype=np.float32)
        padded[:, :length] = part
        power = np.square(padded).reshape(len(part), n_frames, hop).mean(axis=2)  # (n, frames)
        loud = power > power.max(axis=1, keepdims=True) * 10 ** (-TRIM_DB / 10)
        starts = loud.argmax(axis=1) * hop
        ends = np.minimum(length, (n_frames - loud[:, ::-1].argmax(axis=1)) * hop)
        for row, (clip, start, end) in enumerate(zip(part, starts, ends)):
            # A silent clip has no loud frame: argmax finds none and the whole clip is kept.
            out[first + row, :end - start] = clip[start:end]
    return out


def _remember(key: tuple, value: np.ndarray) -> None:
    if value.nbytes > CACHE_BYTES:
        return
    with _cache_lock:
        _cache[key] = value
        while sum(v.nbytes for v in _cache.values()) > CACHE_BYTES:
            _cache.popitem(last=False)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass
class LogMelSpectrogram:
    """(N, L) sounds -> (N, 1, n_mels, frames) standardised log-mel spectrograms.

    Each band is standardised by its mean and spread over the training split's frames, so a
    quiet band and a loud one reach the model on one scale. With trim_silence, each clip's quiet
    start and end are cut first, so a sound recorded late in its clip looks like one on time.
    """

    sample_rate: int
    window_ms: float = 25.0
    hop_ms: float = 16.0
    n_mels: int = 32
    trim_silence: bool = False  # what a run stored before the option existed did
    mean_: list[float] = field(default_factory=list)
    std_: list[float] = field(default_factory=list)
    n_samples_: int = 0

    def __post_init__(self):
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")

    def decibels(self, X: np.ndarray) -> np.ndarray:
        if self.trim_silence:
            X = trim_silence(X, self.sample_rate, self.hop_ms)
        return log_mel(X, self.sample_rate, self.window_ms, self.hop_ms, self.n_mels)

    def fit(self, X: np.ndarray) -> "LogMelSpectrogram":
        db = self.decibels(X)
        self.n_samples_ = int(X.shape[1])
        self.mean_ = db.mean(axis=(0, 2)).astype(float).tolist()
        self.std_ = [s if s > 1e-6 else 1.0 for s in db.std(axis=(0, 2)).astype(float).tolist()]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if not self.mean_:
            raise RuntimeError("LogMelSpectrogram is not fitted; call fit on the training split first")
        if X.ndim != 2 or X.shape[1] != self.n_samples_:
            raise ValueError(f"expected sounds shaped (N, {self.n_samples_}) at {self.sample_rate} Hz, "
                             f"got {X.shape}")
        db = self.decibels(X)
        mean = np.asarray(self.mean_, dtype=np.float32)[None, :, None]
        std = np.asarray(self.std_, dtype=np.float32)[None, :, None]
        return ((db - mean) / std)[:, None].astype(np.float32)

    def n_frames(self) -> int:
        return 1 + self.n_samples_ // frame_sizes(self.sample_rate, self.window_ms, self.hop_ms)[1]

    def input_info(self) -> InputInfo:
        if not self.mean_:
            raise RuntimeError("LogMelSpectrogram is not fitted; call fit on the training split first")
        return InputInfo(shape=(1, self.n_mels, self.n_frames()))

    def to_state(self) -> dict:
        return {"kind": "log_mel", "sample_rate": self.sample_rate, "window_ms": self.window_ms,
                "hop_ms": self.hop_ms, "n_mels": self.n_mels, "trim_silence": self.trim_silence,
                "mean": self.mean_, "std": self.std_,
                "n_samples": self.n_samples_}

    @classmethod
    def from_state(cls, state: dict) -> "LogMelSpectrogram":
        if state.get("kind") != "log_mel":
            raise ValueError(f"not a log-mel state: kind={state.get('kind')!r}")
        return cls(sample_rate=int(state["sample_rate"]), window_ms=float(state["window_ms"]),
                   hop_ms=float(state["hop_ms"]), n_mels=int(state["n_mels"]),
                   trim_silence=bool(state.get("trim_silence", False)),
                   mean_=list(state["mean"]), std_=list(state["std"]), n_samples_=int(state["n_samples"]))
