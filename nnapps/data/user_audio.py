"""A user's sounds: a zip of one folder per class of WAV, FLAC or OGG files, decoded in memory.

Every file's header is read first, so how long the clips are and what decoding them costs are
checked against the limits before anything is decoded. Then each clip is mixed down to mono,
resampled to SAMPLE_RATE and padded with silence or cut to one length: the length that
LENGTH_QUANTILE of the clips fit in, so one long recording does not make every clip long. A
longer clip keeps its loudest stretch of that length: its sound, not the silence before it.
"""

import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from nnapps.limits import AUDIO_MSAMPLES, CLIP_SECONDS, DECODED_MB, SOUND_MINUTES, over
from nnapps.data.archive import FolderRules, labelled_members, open_zip, read_member
from nnapps.data.audio import AUDIO_SUFFIXES, DECODE_ERRORS, fit_length, load_clip, loudest_stretch, unreadable
from nnapps.data.dataset import DatasetUnavailable, ProgressFn, RawData, StopFn, decode_each

SAMPLE_RATE = 16_000
LENGTH_QUANTILE = 0.95


@dataclass(frozen=True)
class _Header:
    """What a sound file's header says: enough to know its cost before decoding it."""

    frames: int
    rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def load_audio_archive(data: bytes, rate: int = SAMPLE_RATE, progress: ProgressFn | None = None,
                       should_stop: StopFn | None = None) -> RawData:
    """Decode a zip of class folders of sounds into (N, L) float32 mono samples at rate.

    Raises DatasetUnavailable, naming the file or the limit, for an unsafe or badly laid out
    archive, a corrupt or silent clip, and sounds too long or too costly to decode.
    progress hears after each sound; should_stop, asked before each, ends it with DecodingStopped.
    """
    with open_zip(data) as archive:
        labelled, class_names = labelled_members(archive, _rules())
        headers = [_header(archive, info) for info, _ in labelled]
        _check_costs(labelled, headers)
        lengths = [math.ceil(h.frames * rate / h.rate) for h in headers]
        length = clip_length(lengths, rate)
        _check_memory(len(lengths), length, rate)
        X = np.empty((len(labelled), length), dtype=np.float32)

        def decode(i: int) -> None:
            info, header = labelled[i][0], headers[i]
            # Decoding stops at the header's length: a header that understates cannot cost more.
            clip = load_clip(read_member(archive, info, "sounds"), info.filename, rate, header.seconds)
            X[i] = fit_length(loudest_stretch(clip, length), length)

        decode_each(list(range(len(labelled))), decode, "sounds", progress, should_stop)
    index = {name: i for i, name in enumerate(class_names)}
    y = np.array([index[name] for _, name in labelled], dtype=np.int64)
    return RawData(X=X, y=y, class_names=class_names, notes=_notes(headers, lengths, length, rate))


def _rules() -> FolderRules:
    return FolderRules(noun="sounds", formats="WAV, FLAC or OGG sounds", suffixes=AUDIO_SUFFIXES)


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Header:
    data = read_member(archive, info, "sounds")
    try:
        found = sf.info(io.BytesIO(data))
    except DECODE_ERRORS as err:
        raise unreadable(info.filename, err) from None
    if found.samplerate <= 0 or found.frames <= 0 or found.channels <= 0:
        raise DatasetUnavailable(f"{info.filename} holds no samples")
    return _Header(frames=found.frames, rate=found.samplerate, channels=found.channels)


def _check_costs(labelled: list[tuple[zipfile.ZipInfo, str]], headers: list[_Header]) -> None:
    for (info, _), header in zip(labelled, headers):
        if why := over(CLIP_SECONDS, header.seconds):
            raise DatasetUnavailable(f"{info.filename} is {header.seconds:.1f} s long; {why} (cut long "
                                     "recordings into short clips)")
    minutes = sum(h.seconds for h in headers) / 60
    if why := over(SOUND_MINUTES, minutes):
        raise DatasetUnavailable(f"the {len(headers):,} sounds last {minutes:,.1f} minutes in all; {why}")
    samples = sum(h.frames * h.channels for h in headers) / 1e6
    if why := over(AUDIO_MSAMPLES, samples):
        raise DatasetUnavailable(f"the {len(headers):,} sounds hold {samples:,.0f} million samples to "
                                 f"decode; {why}")


def _check_memory(n_clips: int, length: int, rate: int) -> None:
    mb = n_clips * length * 4 / 2**20  # float32
    if why := over(DECODED_MB, mb):
        raise DatasetUnavailable(f"{n_clips:,} clips of {length / rate:.1f} s (the length "
                                 f"{LENGTH_QUANTILE:.0%} of them fit in) take {mb:,.0f} MB at "
                                 f"{rate / 1000:g} kHz; {why}")


def clip_length(lengths: list[int], rate: int) -> int:
    """Samples per clip: the LENGTH_QUANTILE of the lengths, rounded up to a tenth of a second."""
    tenth = rate // 10
    quantile = float(np.quantile(lengths, LENGTH_QUANTILE, method="higher"))
    return max(tenth, math.ceil(quantile / tenth) * tenth)


def _notes(headers: list[_Header], lengths: list[int], length: int, rate: int) -> list[str]:
    """What a person should know about how their sounds were made one length at one rate."""
    notes = []
    n_cut = sum(n > length for n in lengths)
    if n_cut:
        notes.append(f"{n_cut:,} of {len(lengths):,} clips {_were(n_cut)} cut to {length / rate:.1f} s, the "
                     f"length {LENGTH_QUANTILE:.0%} of the clips fit in, keeping {_their(n_cut)} loudest "
                     f"{length / rate:.1f} s.")
    other_rates = sorted({h.rate for h in headers} - {rate})
    if other_rates:
        listed = ", ".join(f"{r / 1000:g}" for r in other_rates)
        notes.append(f"Clips recorded at {listed} kHz were resampled to {rate / 1000:g} kHz.")
    n_mixed = sum(h.channels > 1 for h in headers)
    if n_mixed:
        notes.append(f"{n_mixed:,} clip{'s' if n_mixed != 1 else ''} with more than one channel "
                     f"{_were(n_mixed)} mixed down to mono.")
    return notes


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _their(n: int) -> str:
    return "its" if n == 1 else "their"
