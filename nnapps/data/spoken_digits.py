"""Spoken digits: "zero" to "nine" said by espeak-ng voices, made by the project and shipped.

scripts/make_spoken_digits.py wrote the two files beside this module: one Ogg Vorbis stream of
one-second clips at 8 kHz and a CSV manifest of who says what. The test split holds only voice
timbres the training split never heard; the seed draws validation from the training voices.
"""

import csv
from pathlib import Path

import numpy as np

from nnapps.data.audio import decode
from nnapps.data.dataset import DatasetSpec, DatasetUnavailable, RawData

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 8000
CLIP_SAMPLES = SAMPLE_RATE  # one second
MANIFEST_FIELDS = ("digit", "voice", "accent", "variant", "pitch", "speed", "snr_db", "split")
FILES = Path(__file__).parent / "files"
# split markers (see RawData): the seed draws train/val from -1; 2 is the unheard voices.
_SPLIT_MARKERS = {"train": -1, "test": 2}


def default_paths() -> tuple[Path, Path]:
    return FILES / "spoken_digits.ogg", FILES / "spoken_digits.csv"


def read_manifest(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    if not rows or set(MANIFEST_FIELDS) - set(rows[0]):
        raise ValueError(f"the spoken-digits manifest needs the columns {MANIFEST_FIELDS}")
    for i, row in enumerate(rows, start=1):
        if row["digit"] not in {str(d) for d in range(len(WORDS))} or row["split"] not in _SPLIT_MARKERS:
            raise ValueError(f"row {i} of the spoken-digits manifest has digit {row['digit']!r} and "
                             f"split {row['split']!r}; expected 0-9 and one of {sorted(_SPLIT_MARKERS)}")
    return rows


def load(seed: int = 0, progress=None, audio_path: Path | None = None,
         manifest_path: Path | None = None) -> RawData:
    """The shipped clips; seed is unused (the voices fix the test split)."""
    default_audio, default_manifest = default_paths()
    audio_path, manifest_path = audio_path or default_audio, manifest_path or default_manifest
    if not audio_path.exists() or not manifest_path.exists():
        raise DatasetUnavailable(f"the spoken-digits files are missing from {audio_path.parent}; "
                                 "run scripts/make_spoken_digits.py to make them")
    try:
        rows = read_manifest(manifest_path.read_text())
    except ValueError as err:
        raise DatasetUnavailable(f"{manifest_path}: {err}") from None
    stream, rate = decode(audio_path.read_bytes(), audio_path.name)
    if rate != SAMPLE_RATE or len(stream) != len(rows) * CLIP_SAMPLES:
        raise DatasetUnavailable(f"{audio_path.name} holds {len(stream)} samples at {rate} Hz; the "
                                 f"manifest expects {len(rows)} clips of {CLIP_SAMPLES} at {SAMPLE_RATE} Hz")
    X = np.ascontiguousarray(stream.reshape(len(rows), CLIP_SAMPLES))
    y = np.array([int(r["digit"]) for r in rows], dtype=np.int64)
    split = np.array([_SPLIT_MARKERS[r["split"]] for r in rows], dtype=np.int64)
    return RawData(X=X, y=y, class_names=list(WORDS), split=split)


def voices() -> list[dict]:
    """The manifest's rows (voice, pitch, speed, noise), in clip order, for the Data page."""
    return read_manifest(default_paths()[1].read_text())


SPEC = DatasetSpec(
    name="spoken-digits",
    title="Spoken digits (made with espeak-ng)",
    modality="audio",
    origin="made",
    licence="CC0 (made by nnapps with espeak-ng, GPL-3.0 synthesiser)",
    description=("One-second clips of the words *zero* to *nine* at 8 kHz, synthesised by the "
                 "project with Debian's **espeak-ng** speech synthesiser: seven English accents "
                 "crossed with its voice variants (male, female, whispering, croaky, robotic...), "
                 "each voice at its own pitch and speed, the word at a random moment over white or "
                 "rumbling noise at 5-35 dB signal-to-noise. The **test split holds only voices "
                 "whose timbre training never heard**. Made by `scripts/make_spoken_digits.py` and "
                 "shipped with the app, so it works offline."),
    load=load,
    sample_rate=SAMPLE_RATE,
)
