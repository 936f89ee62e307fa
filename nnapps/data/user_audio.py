"""A user's sounds: a zip of one folder per class of WAV, FLAC or OGG files, decoded in memory.

Every clip is mixed down to mono and resampled to SAMPLE_RATE; then all are padded with
silence or cut to one length, that of all but the longest twentieth of the clips, so one long
recording does not make every clip long.
"""

import math

import numpy as np

from .archive import FolderRules, labelled_members, open_zip, read_member
from .audio import AUDIO_SUFFIXES, fit_length, load_clip
from .dataset import DatasetUnavailable, RawData

SAMPLE_RATE = 16_000
MAX_SOUNDS = 5_000
MAX_MEMBER_BYTES = 20 * 2**20
MAX_TOTAL_BYTES = 300 * 2**20
MAX_CLASSES = 100
MAX_CLIP_SECONDS = 10.0
# Decoded, all clips together: bounds the memory a dataset takes (30 min is 115 MB of float32).
MAX_TOTAL_SECONDS = 30 * 60
LENGTH_QUANTILE = 0.95


def _rules() -> FolderRules:
    # Read at call time, so the limits can be changed (tests lower them) without a rebuild.
    return FolderRules(noun="sounds", formats="WAV, FLAC or OGG sounds", suffixes=AUDIO_SUFFIXES,
                       max_items=MAX_SOUNDS, max_member_bytes=MAX_MEMBER_BYTES,
                       max_total_bytes=MAX_TOTAL_BYTES, max_classes=MAX_CLASSES)


def load_audio_archive(data: bytes, rate: int = SAMPLE_RATE) -> RawData:
    """Decode a zip of class folders of sounds into (N, L) float32 mono samples at rate.

    Raises DatasetUnavailable, naming the file, for an unsafe or badly laid out archive and for
    a corrupt, silent or over-long clip.
    """
    clips, total_seconds = [], 0.0
    with open_zip(data) as archive:
        labelled, class_names = labelled_members(archive, _rules())
        for info, _ in labelled:
            clip = load_clip(read_member(archive, info, "sounds"), info.filename, rate, MAX_CLIP_SECONDS)
            total_seconds += len(clip) / rate
            if total_seconds > MAX_TOTAL_SECONDS:
                raise DatasetUnavailable(f"the sounds last more than {MAX_TOTAL_SECONDS / 60:g} minutes "
                                         "in all, the limit; use fewer or shorter clips")
            clips.append(clip)
    length = clip_length([len(c) for c in clips], rate)
    # Padding short clips to one length can cost more than the sounds themselves.
    if len(clips) * length > MAX_TOTAL_SECONDS * rate:
        raise DatasetUnavailable(f"{len(clips):,} clips of {length / rate:.1f} s (the length most clips "
                                 f"fit in) come to more than {MAX_TOTAL_SECONDS / 60:g} minutes, the "
                                 "limit; use fewer clips, or clips of more even length")
    X = np.empty((len(clips), length), dtype=np.float32)
    for i, clip in enumerate(clips):
        X[i] = fit_length(clip, length)
    index = {name: i for i, name in enumerate(class_names)}
    y = np.array([index[name] for _, name in labelled], dtype=np.int64)
    return RawData(X=X, y=y, class_names=class_names)


def clip_length(lengths: list[int], rate: int) -> int:
    """Samples per clip: the LENGTH_QUANTILE of the lengths, rounded up to a tenth of a second."""
    tenth = rate // 10
    quantile = float(np.quantile(lengths, LENGTH_QUANTILE, method="higher"))
    return max(tenth, math.ceil(quantile / tenth) * tenth)
