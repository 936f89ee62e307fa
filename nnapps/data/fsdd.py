"""Free Spoken Digit Dataset: 3,000 recordings of people saying digits, downloaded once.

The archive is the project's tagged release on GitHub, cached under NNAPPS_DATA_DIR and read
in memory (never extracted). Its recordings are named {digit}_{speaker}_{index}.wav, 8 kHz
mono. Two splits are offered: a random one (the same speakers in training and test) and a
speaker-independent one, where the test split holds speakers training never heard.
"""

import re
from pathlib import Path

import numpy as np

from nnapps.paths import data_dir
from nnapps.data import download
from nnapps.data.archive import check_safe, open_zip, read_member
from nnapps.data.audio import fit_length, load_clip
from nnapps.data.dataset import DatasetSpec, DatasetUnavailable, ProgressFn, RawData
from nnapps.data.spoken_digits import CLIP_SAMPLES, SAMPLE_RATE

VERSION = "1.0.10"
URLS = (f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v{VERSION}.zip",)
ARCHIVE_NAME = f"free-spoken-digit-dataset-{VERSION}.zip"
CLASS_NAMES = [str(d) for d in range(10)]
MAX_SECONDS = 10.0
# What share of the speakers the speaker-independent split holds out for testing.
HELD_OUT_SHARE = 1 / 3
_RECORDING = re.compile(r"(?:^|/)recordings/(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")
# split markers (see RawData): -1 lets the seed draw train/val, 2 is the test split.
TRAIN_OR_VAL, TEST = -1, 2


def archive_path() -> Path:
    return data_dir() / "fsdd" / ARCHIVE_NAME


def fetch_archive(progress: ProgressFn | None = None) -> Path:
    # GitHub builds tag archives on request and their bytes have changed before, so there is
    # no md5 to check; read_recordings checks the content instead.
    return download.fetch(list(URLS), archive_path(), None, progress=progress,
                          label="the Free Spoken Digit Dataset archive", timeout=60)


def read_recordings(data: bytes) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(N, CLIP_SAMPLES) float32 clips at 8 kHz, (N,) digits and (N,) speakers, sorted by name."""
    with open_zip(data) as archive:
        found = []
        for info in archive.infolist():
            check_safe(info.filename)
            match = _RECORDING.search(info.filename)
            if match and not info.is_dir():
                found.append((info, int(match.group(1)), match.group(2)))
        if not found:
            raise DatasetUnavailable("the archive holds no recordings/{digit}_{speaker}_{index}.wav "
                                     "files; is it the Free Spoken Digit Dataset?")
        found.sort(key=lambda item: item[0].filename)
        clips = [fit_length(load_clip(read_member(archive, info), info.filename, SAMPLE_RATE,
                                      MAX_SECONDS), CLIP_SAMPLES) for info, _, _ in found]
    digits = np.array([digit for _, digit, _ in found], dtype=np.int64)
    return np.stack(clips), digits, [speaker for _, _, speaker in found]


def held_out_speakers(speakers: list[str], seed: int) -> list[str]:
    """The speakers the seed keeps for testing: a third of them, at least one."""
    names = sorted(set(speakers))
    if len(names) < 2:
        raise DatasetUnavailable(f"a speaker-independent split needs two speakers or more; found {names}")
    n = max(1, round(len(names) * HELD_OUT_SHARE))
    return sorted(np.random.default_rng(seed).permutation(names)[:n].tolist())


def load(seed: int = 0, progress: ProgressFn | None = None, by_speaker: bool = False,
         path: Path | None = None) -> RawData:
    """The recordings; by_speaker holds out the seed's speakers for the test split."""
    path = Path(path) if path is not None else fetch_archive(progress)
    try:
        X, y, speakers = read_recordings(path.read_bytes())
    except DatasetUnavailable as err:
        raise DatasetUnavailable(f"{path}: {err} Delete the file to download it again.") from None
    split = None
    if by_speaker:
        test = set(held_out_speakers(speakers, seed))
        split = np.array([TEST if s in test else TRAIN_OR_VAL for s in speakers], dtype=np.int64)
    return RawData(X=X, y=y, class_names=list(CLASS_NAMES), split=split)


def speakers(path: Path | None = None) -> list[str]:
    """Who speaks in the cached archive."""
    with open_zip((path or archive_path()).read_bytes()) as archive:
        return sorted({m.group(2) for m in map(_RECORDING.search, archive.namelist()) if m})


_ABOUT = ("3,000 recordings of digits said by six English speakers (50 of each digit each), "
          "8 kHz mono, padded or cut to one second. Downloaded once from the "
          "project's GitHub release and cached under NNAPPS_DATA_DIR.")
_COMMON = dict(modality="audio", origin="download", sample_rate=SAMPLE_RATE,
               licence="CC BY-SA 4.0 (Zohar Jackson and contributors)",
               source_url="https://github.com/Jakobovski/free-spoken-digit-dataset",
               is_cached=lambda: archive_path().exists())

RANDOM_SPEC = DatasetSpec(
    name="fsdd", title="Free Spoken Digit Dataset (random split)",
    description=_ABOUT + " Split at random: every speaker is heard in training and in test.",
    load=lambda seed=0, progress=None: load(seed, progress), **_COMMON)
SPEAKERS_SPEC = DatasetSpec(
    name="fsdd-speakers", title="Free Spoken Digit Dataset (unheard speakers)",
    description=_ABOUT + " Split by speaker: the test split holds a third of the speakers (drawn "
                         "by the split seed), whom training never heard. Harder, and closer to "
                         "how a model meets new people.",
    load=lambda seed=0, progress=None: load(seed, progress, by_speaker=True), **_COMMON)

__all__ = ["RANDOM_SPEC", "SPEAKERS_SPEC", "load", "read_recordings"]
