"""Sounds as data: decoding and resampling, a user's zip of class folders of sounds, uploads,
the Free Spoken Digit Dataset (served from a file:// URL, never the network), the shipped
spoken digits, and training on a sounds zip from the command line.

Every clip is made here with numpy and soundfile: short tones in WAV, FLAC and OGG.
"""

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from nnapps import cli
from nnapps.data import audio, fsdd, spoken_digits, uploads, user_audio
from nnapps.data.dataset import DatasetUnavailable
from nnapps.data.registry import get_spec, load_dataset
from nnapps.features import make_preprocessor, preprocessor_from_state
from nnapps.features.audio import trim_silence
from nnapps.store.runs import RunConfig, RunStore

# Port 9 (discard) is closed on test machines, so connecting fails at once without a network.
UNREACHABLE = "http://127.0.0.1:9/fsdd.zip"
FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


# ---- making sounds -----------------------------------------------------------------------------


def sine(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(samples: np.ndarray, rate: int, suffix: str = ".wav", subtype: str | None = None) -> bytes:
    """samples ((n,) mono or (n, channels)) as the bytes of a WAV, FLAC or OGG file."""
    fmt, default_subtype = FORMATS[suffix]
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype or default_subtype)
    return buffer.getvalue()


def tone_file(name: str, freq: float = 440.0, seconds: float = 0.25, rate: int = 16_000,
              stereo: bool = False, amp: float = 0.5) -> bytes:
    """A tone in the format name's suffix says; stereo puts it on the left at full and the
    right at half level."""
    x = sine(freq, seconds, rate, amp)
    if stereo:
        x = np.stack([x, 0.5 * x], axis=1)
    return encode(x, rate, Path(name).suffix.lower())


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def two_classes(prefix: str = "", seconds: float = 0.25, rate: int = 8000) -> dict[str, bytes]:
    """Two classes of two short WAV tones each: low (300/350 Hz) and high (1200/1300 Hz)."""
    return {f"{prefix}{cls}/{i}.wav": tone_file("x.wav", freq, seconds, rate)
            for cls, freqs in (("low", (300, 350)), ("high", (1200, 1300)))
            for i, freq in enumerate(freqs)}


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum)) * rate / len(samples)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def write_folder(root: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# ---- audio: decode, resample, fit_length, load_clip --------------------------------------------


def test_decode_mono_passes_samples_and_rate_through():
    x = sine(440, 0.1, 8000)
    samples, rate = audio.decode(encode(x, 8000, subtype="FLOAT"), "a.wav")
    assert rate == 8000 and samples.dtype == np.float32 and samples.shape == x.shape
    np.testing.assert_array_equal(samples, x)


def test_decode_mixes_stereo_down_to_the_mean_of_the_channels():
    left, right = sine(440, 0.1, 8000, 0.8), sine(1000, 0.1, 8000, 0.2)
    samples, rate = audio.decode(encode(np.stack([left, right], 1), 8000, subtype="FLOAT"), "s.wav")
    assert rate == 8000 and samples.shape == (800,)
    np.testing.assert_allclose(samples, (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_wav_flac_and_ogg_decode(suffix):
    x = sine(440, 0.5, 22_050)
    samples, rate = audio.decode(encode(x, 22_050, suffix), f"tone{suffix}")
    assert rate == 22_050 and samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - len(x)) <= 1
    assert abs(dominant_frequency(samples, rate) - 440) < 5
    if suffix != ".ogg":  # lossless: only the 16-bit rounding differs
        np.testing.assert_allclose(samples, x, atol=1 / 2**15)


@pytest.mark.parametrize("data", [b"this is not a sound", b"RIFF\x10\x00\x00\x00WAVEjunk", b""])
def test_decode_garbage_names_the_file(data):
    with pytest.raises(DatasetUnavailable, match="cats/bad.wav is not a readable WAV, FLAC or OGG"):
        audio.decode(data, "cats/bad.wav")


def test_resample_8k_to_16k_doubles_the_length_and_keeps_the_pitch():
    x = sine(440, 0.5, 8000)
    y = audio.resample(x, 8000, 16_000)
    assert y.dtype == np.float32 and abs(len(y) - 2 * len(x)) <= 1
    assert abs(dominant_frequency(y, 16_000) - 440) < 3
    assert abs(dominant_frequency(audio.resample(sine(440, 0.5, 22_050), 22_050, 16_000),
                                  16_000) - 440) < 3


def test_resample_to_the_same_rate_returns_the_input():
    x = sine(440, 0.1, 16_000)
    y = audio.resample(x, 16_000, 16_000)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    # float64 input comes back as float32, same values.
    np.testing.assert_allclose(audio.resample(x.astype(np.float64), 8000, 8000), x)
    assert audio.resample(x.astype(np.float64), 8000, 8000).dtype == np.float32


def test_fit_length_pads_with_zeros_and_cuts():
    x = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    padded = audio.fit_length(x, 5)
    assert padded.dtype == np.float32
    np.testing.assert_array_equal(padded, np.array([0.1, -0.2, 0.3, 0.0, 0.0], np.float32))
    np.testing.assert_array_equal(audio.fit_length(x, 2), x[:2])
    np.testing.assert_array_equal(audio.fit_length(x, 3), x)


def test_load_clip_resamples_a_good_clip():
    clip = audio.load_clip(tone_file("a.wav", 440, 0.5, 8000, stereo=True), "a.wav", 16_000, 10.0)
    assert clip.dtype == np.float32 and abs(len(clip) - 8000) <= 1
    # Left at 0.5 and right at 0.25 mix down to a peak near 0.375.
    assert 0.33 < np.abs(clip).max() < 0.42


def test_load_clip_refuses_a_silent_clip():
    with pytest.raises(DatasetUnavailable, match=r"cats/quiet.wav is silent"):
        audio.load_clip(encode(np.zeros(800, np.float32), 8000), "cats/quiet.wav", 16_000, 10.0)
    # Below -60 dBFS counts as silent too; just above does not.
    faint = encode(sine(440, 0.1, 8000, amp=5e-4), 8000, subtype="FLOAT")
    with pytest.raises(DatasetUnavailable, match="silent"):
        audio.load_clip(faint, "faint.wav", 8000, 10.0)
    audible = encode(sine(440, 0.1, 8000, amp=3e-3), 8000, subtype="FLOAT")
    assert len(audio.load_clip(audible, "audible.wav", 8000, 10.0)) == 800


def test_load_clip_refuses_an_over_long_clip_with_length_and_limit():
    with pytest.raises(DatasetUnavailable,
                       match=r"long.wav is 3\.0 s long; clips may be at most 2 s"):
        audio.load_clip(tone_file("long.wav", seconds=3.0, rate=8000), "long.wav", 16_000, 2.0)


# ---- user_audio: a zip of class folders of sounds ----------------------------------------------

# name -> (frequency, seconds, rate, stereo): mixed rates, channels, lengths and formats.
GOOD = {
    "cats/a.wav": (300, 0.50, 8000, False),
    "birds/d.wav": (900, 0.73, 22_050, False),  # the longest: 0.73 s -> 0.8 s at 16 kHz
    "cats/b.flac": (500, 0.30, 22_050, True),
    "cats/c.ogg": (700, 0.25, 16_000, False),
    "birds/e.flac": (1100, 0.20, 8000, True),
    "birds/f.ogg": (1500, 0.40, 22_050, True),
}


def good_members(prefix: str = "") -> dict[str, bytes]:
    return {prefix + name: tone_file(name, freq, seconds, rate, stereo)
            for name, (freq, seconds, rate, stereo) in GOOD.items()}


@pytest.mark.parametrize("prefix", ["", "my sounds/"])
def test_good_archive_of_mixed_rates_channels_lengths_and_formats(prefix):
    members = good_members(prefix)
    members.update({f"{prefix}cats/notes.txt": b"not a sound", f"{prefix}birds/.hidden.wav": b"junk",
                    "__MACOSX/cats/._a.wav": b"resource fork"})
    raw = user_audio.load_audio_archive(make_zip(members))
    assert raw.class_names == ["birds", "cats"]
    order = sorted(GOOD)  # members are read in name order
    assert raw.y.dtype == np.int64 and raw.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert raw.split is None
    # Every clip is 16 kHz now; the length is the longest (0.73 s) rounded up to 0.8 s.
    assert raw.X.dtype == np.float32 and raw.X.shape == (6, 12_800)
    lengths = [round(GOOD[name][1] * 16_000) for name in order]
    assert user_audio.clip_length(lengths, 16_000) == 12_800
    for row, name in zip(raw.X, order):
        freq, seconds, _, stereo = GOOD[name]
        # Each row is its own file's tone (its pitch survives resampling and lossy coding) ...
        assert abs(dominant_frequency(row, 16_000) - freq) < 10, name
        # ... at its level (stereo mixes 0.5 and 0.25 down to 0.375) ...
        assert abs(np.abs(row).max() - (0.375 if stereo else 0.5)) < 0.06, name
        # ... padded with silence after its own length.
        n = round(seconds * 16_000)
        assert np.all(row[n + 8:] == 0) and np.abs(row[n - 200:n - 8]).max() > 0.1, name


def test_eight_sixteen_twenty_four_bit_and_float_files_load_at_their_level():
    x = sine(440, 0.3, 8000, amp=0.5)
    members = {"a/u8.wav": encode(x, 8000, subtype="PCM_U8"), "a/s16.wav": encode(x, 8000, subtype="PCM_16"),
               "b/s24.wav": encode(x, 8000, subtype="PCM_24"), "b/f32.wav": encode(x, 8000, subtype="FLOAT"),
               "b/s24.flac": encode(x, 8000, ".flac", subtype="PCM_24")}
    raw = user_audio.load_audio_archive(make_zip(members), rate=8000)
    assert raw.X.shape == (5, 2400)
    for row in raw.X:
        np.testing.assert_allclose(row, x, atol=0.01)  # 8-bit is the coarsest: steps of 1/128


def test_the_notes_say_what_was_cut_resampled_and_mixed_down():
    members = {f"a/{i}.wav": tone_file("x.wav", seconds=0.2, rate=16_000) for i in range(19)}
    members["b/long.flac"] = tone_file("x.flac", seconds=1.0, rate=44_100, stereo=True)
    members["b/short.ogg"] = tone_file("x.ogg", seconds=0.2, rate=8000)
    raw = user_audio.load_audio_archive(make_zip(members))
    assert raw.X.shape == (21, 3200)
    assert raw.notes == [("1 of 21 clips was cut to 0.2 s, the length 95% of the clips fit in, keeping its "
                          "loudest 0.2 s."),
                         "Clips recorded at 8, 44.1 kHz were resampled to 16 kHz.",
                         "1 clip with more than one channel was mixed down to mono."]
    assert user_audio.load_audio_archive(make_zip(two_classes(rate=16_000))).notes == []


def test_a_clip_longer_than_the_rest_keeps_its_sound_not_the_silence_before_it():
    members = {f"a/{i}.wav": tone_file("x.wav", 300, seconds=0.2, rate=8000) for i in range(19)}
    late = np.zeros(16_000, np.float32)  # 2 s, the word 1.5 s in
    late[12_000:13_600] = sine(1200, 0.2, 8000)
    members["b/late.wav"] = encode(late, 8000)
    members["b/early.wav"] = tone_file("x.wav", 1200, seconds=0.2, rate=8000)
    raw = user_audio.load_audio_archive(make_zip(members), rate=8000)
    assert raw.X.shape == (21, 1600)
    np.testing.assert_allclose(raw.X[20], late[12_000:13_600], atol=1e-4)  # b/late.wav; 16-bit steps


def test_upper_case_suffixes_and_what_macos_adds(isolated_dirs):
    members = {"Digits/yes/A.WAV": tone_file("x.wav", 300), "Digits/yes/B.Flac": tone_file("x.flac", 350),
               "Digits/no/C.OGG": tone_file("x.ogg", 1200), "Digits/no/D.wav": tone_file("x.wav", 1300),
               "Digits/.DS_Store": b"\0\0\0\1Bud1", "__MACOSX/Digits/yes/._A.WAV": b"\0\5\26\7"}
    spec = uploads.store_upload(make_zip(members), "DIGITS.ZIP")
    assert spec.modality == "audio" and "4 sounds in 2 classes (no, yes)" in spec.description


def test_a_wrapping_folder_gives_the_same_dataset():
    plain = user_audio.load_audio_archive(make_zip(two_classes()))
    wrapped = user_audio.load_audio_archive(make_zip(two_classes("tones/")))
    assert wrapped.class_names == plain.class_names == ["high", "low"]
    np.testing.assert_array_equal(wrapped.X, plain.X)
    np.testing.assert_array_equal(wrapped.y, plain.y)
    assert plain.X.shape == (4, 4800)  # 0.25 s at 16 kHz, rounded up to 0.3 s


def test_order_is_sorted_whatever_the_zip_order():
    members = good_members()
    a = user_audio.load_audio_archive(make_zip(members))
    b = user_audio.load_audio_archive(make_zip(dict(reversed(list(members.items())))))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_archive_at_another_rate():
    raw = user_audio.load_audio_archive(make_zip(two_classes()), rate=8000)
    assert raw.X.shape == (4, 2400)  # 0.25 s at 8 kHz, rounded up to 0.3 s
    assert abs(dominant_frequency(raw.X[2], 8000) - 300) < 10  # low/0.wav


@pytest.mark.parametrize("name", ["../evil.wav", "cats/../../evil.wav", "/abs/evil.wav",
                                  "C:/evil.wav", "cats\\..\\..\\evil.wav"])
def test_zip_slip_member_is_refused_by_name(name):
    members = two_classes()
    members[name] = tone_file("x.wav")
    with pytest.raises(DatasetUnavailable, match="points outside the archive") as caught:
        user_audio.load_audio_archive(make_zip(members))
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize("data", [b"RIFF, then nothing a sound needs", tone_file("x.wav")[:30]])
def test_corrupt_sound_is_named(data):
    members = two_classes()
    members["low/bad.wav"] = data
    with pytest.raises(DatasetUnavailable, match="low/bad.wav is not a readable WAV, FLAC or OGG"):
        user_audio.load_audio_archive(make_zip(members))


def test_sound_in_another_format_behind_a_sound_suffix_is_refused():
    members = two_classes()
    members["low/picture.ogg"] = png_bytes()
    with pytest.raises(DatasetUnavailable, match="low/picture.ogg is not a readable"):
        user_audio.load_audio_archive(make_zip(members))


def test_silent_sound_is_named():
    members = two_classes()
    members["high/quiet.flac"] = encode(np.zeros(2000, np.float32), 8000, ".flac")
    with pytest.raises(DatasetUnavailable, match="high/quiet.flac is silent"):
        user_audio.load_audio_archive(make_zip(members))


def test_over_long_clip_is_named(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_CLIP_SECONDS", "0.4")
    members = two_classes(seconds=0.25)
    members["low/long.wav"] = tone_file("x.wav", seconds=0.5, rate=8000)
    with pytest.raises(DatasetUnavailable, match=r"^low/long.wav is 0\.5 s long; this copy allows at most "
                                                 r"0\.4 \(NNAPPS_MAX_CLIP_SECONDS\)"):
        user_audio.load_audio_archive(make_zip(members))


def test_one_class_only():
    members = {"cats/a.wav": tone_file("a.wav"), "cats/b.wav": tone_file("b.wav")}
    with pytest.raises(DatasetUnavailable,
                       match=r"found 1 class \(cats\); need at least two folders of sounds"):
        user_audio.load_audio_archive(make_zip(members))


def test_class_with_one_sound():
    members = two_classes()
    del members["high/1.wav"]
    with pytest.raises(DatasetUnavailable, match=r"at least 2 sounds; too few in: high \(1\)"):
        user_audio.load_audio_archive(make_zip(members))


def test_sound_at_the_root():
    members = two_classes()
    members["loose.wav"] = tone_file("loose.wav")
    with pytest.raises(DatasetUnavailable, match="loose.wav is not inside a class folder"):
        user_audio.load_audio_archive(make_zip(members))


def test_too_many_sounds(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "3")
    with pytest.raises(DatasetUnavailable, match=r"holds 4 sounds; this copy allows at most 3 "
                                                 r"\(NNAPPS_MAX_DATASET_ITEMS\)"):
        user_audio.load_audio_archive(make_zip(two_classes()))
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "4")
    assert len(user_audio.load_audio_archive(make_zip(two_classes())).y) == 4


def test_total_duration_over_the_limit(monkeypatch):
    data = make_zip(two_classes(seconds=3.0))  # 12 s, a fifth of a minute, in all
    monkeypatch.setenv("NNAPPS_MAX_SOUND_MINUTES", "0.19")
    with pytest.raises(DatasetUnavailable, match=r"the 4 sounds last 0\.2 minutes in all; this copy allows "
                                                 r"at most 0\.19 \(NNAPPS_MAX_SOUND_MINUTES\)"):
        user_audio.load_audio_archive(data)
    monkeypatch.setenv("NNAPPS_MAX_SOUND_MINUTES", "0.21")
    assert user_audio.load_audio_archive(data).X.shape == (4, 48_000)


def test_the_total_duration_counts_each_clip_at_its_real_length(monkeypatch):
    """Issue 15: 3,000 spoken digits, most under 0.6 s, were refused as 3,000 clips of the padded
    length. 19 clips of 0.1 s and 2 of 2 s are 5.9 s of sound, though 42 s once padded."""
    members = {f"a/{i}.wav": tone_file(f"a/{i}.wav", seconds=0.1, rate=8000) for i in range(19)}
    members.update({f"b/{i}.wav": tone_file(f"b/{i}.wav", seconds=2.0, rate=8000) for i in range(2)})
    monkeypatch.setenv("NNAPPS_MAX_SOUND_MINUTES", str(6 / 60))
    assert user_audio.load_audio_archive(make_zip(members), rate=8000).X.shape == (21, 16_000)


def test_decoding_costs_are_counted_from_the_headers_before_decoding(monkeypatch):
    # Every channel of every frame at the file's own rate: 0.5 s of 22.05 kHz stereo is 22,050.
    members = two_classes(seconds=0.5, rate=8000)  # 4 x 4,000 samples
    members["low/stereo.flac"] = tone_file("x.flac", seconds=0.5, rate=22_050, stereo=True)
    decoded = []
    monkeypatch.setattr(user_audio, "load_clip", lambda *args: decoded.append(args) or 1 / 0)
    monkeypatch.setenv("NNAPPS_MAX_AUDIO_MSAMPLES", str(38_049 / 1e6))
    with pytest.raises(DatasetUnavailable, match=r"the 5 sounds hold 0 million samples to decode; this copy "
                                                 r"allows at most 0\.038049 \(NNAPPS_MAX_AUDIO_MSAMPLES\)"):
        user_audio.load_audio_archive(make_zip(members))
    assert not decoded
    monkeypatch.setenv("NNAPPS_MAX_AUDIO_MSAMPLES", str(38_050 / 1e6))
    with pytest.raises(ZeroDivisionError):  # past the checks, decoding begins
        user_audio.load_audio_archive(make_zip(members))


def test_too_large_member(monkeypatch):
    members = two_classes()
    members["low/big.wav"] = tone_file("big.wav", seconds=1.0, rate=8000)  # 16 kB
    monkeypatch.setenv("NNAPPS_MAX_MEMBER_MB", str(10_000 / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"low/big.wav is .* MB uncompressed; .*NNAPPS_MAX_MEMBER_MB"):
        user_audio.load_audio_archive(make_zip(members))


def test_not_a_zip():
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        user_audio.load_audio_archive(b"PK but not really a zip file at all")
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        user_audio.load_audio_archive(tone_file("a.wav"))


def test_zip_without_sounds():
    members = {"cats/readme.txt": b"hello", "cats/a.png": png_bytes(), "__MACOSX/cats/._a.wav": b"x",
               "dogs/": b""}
    with pytest.raises(DatasetUnavailable, match="no WAV, FLAC or OGG sounds found in the archive"):
        user_audio.load_audio_archive(make_zip(members))


def test_clip_length():
    # The 95% quantile (the higher neighbour): five long clips in a hundred set the length ...
    assert user_audio.clip_length([8000] * 95 + [80_000] * 5, 16_000) == 80_000
    # ... four do not: they are cut.
    assert user_audio.clip_length([8000] * 96 + [80_000] * 4, 16_000) == 8000
    # Rounded up to a tenth of a second.
    assert user_audio.clip_length([1601, 100], 16_000) == 3200
    assert user_audio.clip_length([1600, 1600], 16_000) == 1600
    assert user_audio.clip_length([801], 8000) == 1600
    assert user_audio.clip_length([12_345], 22_050) == 13_230  # tenths of 2,205 samples
    # At least a tenth of a second.
    assert user_audio.clip_length([5, 10], 16_000) == 1600


# ---- trimming silence: an option of the sound representation ----------------------------------


def late_and_on_time(rate: int = 8000) -> np.ndarray:
    """Three clips: a tone at the start; the same tone 20 hops (of 16 ms) late after a hiss 60 dB
    below it; silence."""
    tone = sine(500, 0.25, rate)
    X = np.zeros((3, rate), np.float32)
    X[0, :len(tone)] = tone
    X[1, :2560] = np.random.default_rng(0).uniform(-5e-4, 5e-4, 2560)
    X[1, 2560:2560 + len(tone)] = tone
    return X


def test_trimming_moves_each_sound_to_the_start_of_its_clip():
    X = late_and_on_time()
    out = trim_silence(X, 8000, hop_ms=16.0)
    np.testing.assert_array_equal(out[0], X[0])
    np.testing.assert_array_equal(out[1], X[0])  # the hiss before it is gone, silence after it
    assert not out[2].any()


def test_trimming_is_part_of_the_representation_and_of_the_runs_identity():
    X = late_and_on_time()[:2]
    trimmed = make_preprocessor("audio", {}, sample_rate=8000).fit(X)
    assert trimmed.trim_silence  # on unless switched off
    spectrograms = trimmed.transform(X)
    np.testing.assert_array_equal(spectrograms[0], spectrograms[1])
    plain = make_preprocessor("audio", {"trim_silence": False}, sample_rate=8000).fit(X)
    assert not np.allclose(plain.transform(X)[0], plain.transform(X)[1])
    # Stored with the run, so a person's own recording is trimmed as the test split was.
    again = preprocessor_from_state(json.loads(json.dumps(trimmed.to_state())))
    np.testing.assert_array_equal(again.transform(X), spectrograms)
    # A run stored before the option existed was not trimmed; it still is not.
    old = {k: v for k, v in plain.to_state().items() if k != "trim_silence"}
    assert preprocessor_from_state(old).trim_silence is False
    on = RunConfig.make("spoken-digits", "cnn")
    off = RunConfig.make("spoken-digits", "cnn", features={"trim_silence": False})
    assert on.features["trim_silence"] is True and on.run_id != off.run_id


# ---- uploads: stored by content, told apart by their files ------------------------------------


def test_store_upload_of_sounds(isolated_dirs):
    data = make_zip(good_members())
    spec = uploads.store_upload(data, "pets.zip")
    assert spec.name.startswith("user-") and spec.modality == "audio"
    assert spec.sample_rate == user_audio.SAMPLE_RATE == 16_000 and spec.origin == "upload"
    assert "6 sounds in 2 classes (birds, cats)" in spec.description
    raw = spec.load(0, None)
    assert raw.X.shape == (6, 12_800) and raw.class_names == ["birds", "cats"]
    np.testing.assert_array_equal(raw.X, user_audio.load_audio_archive(data).X)
    assert (isolated_dirs / "uploads" / f"{spec.name}.zip").read_bytes() == data
    # Known after a restart, with the same modality and rate.
    stored = {s.name: s for s in uploads.stored_specs()}
    assert stored[spec.name].modality == "audio" and stored[spec.name].sample_rate == 16_000
    assert uploads.store_archive(data, "pets").name == spec.name  # same bytes, same dataset


def test_store_upload_of_images_is_still_images():
    members = {f"{cls}/{i}.png": png_bytes() for cls in ("cats", "dogs") for i in range(2)}
    members["cats/readme.txt"] = b"no sounds here"
    spec = uploads.store_upload(make_zip(members), "pics.zip")
    assert spec.modality == "image" and spec.sample_rate == 0
    assert spec.load(0, None).X.ndim == 4


def test_store_upload_refuses_images_and_sounds_together():
    members = two_classes()
    members["low/picture.png"] = png_bytes()
    with pytest.raises(DatasetUnavailable, match="mixed.zip holds both images and sounds"):
        uploads.store_upload(make_zip(members), "mixed.zip")
    assert uploads.stored_specs() == []


def test_store_upload_of_a_bad_sounds_zip_stores_nothing():
    members = two_classes()
    members["low/bad.wav"] = b"garbage"
    with pytest.raises(DatasetUnavailable, match="low/bad.wav is not a readable"):
        uploads.store_upload(make_zip(members), "bad.zip")
    assert uploads.stored_specs() == []


def test_store_path_of_a_folder_of_sounds(tmp_path):
    members = good_members()
    folder = write_folder(tmp_path / "pets", members)
    spec = uploads.store_path(folder)
    assert spec.modality == "audio" and spec.sample_rate == 16_000 and spec.title == "pets.zip (yours)"
    raw = spec.load(0, None)
    expected = user_audio.load_audio_archive(make_zip(members))
    assert raw.class_names == expected.class_names
    np.testing.assert_array_equal(raw.X, expected.X)
    np.testing.assert_array_equal(raw.y, expected.y)
    assert uploads.store_path(folder).name == spec.name  # the same folder, the same dataset


def test_store_path_of_a_sounds_zip(tmp_path):
    data = make_zip(two_classes())
    path = tmp_path / "tones.zip"
    path.write_bytes(data)
    spec = uploads.store_path(path)
    assert spec.modality == "audio" and spec.name == uploads.store_upload(data, "other.zip").name
    assert spec.load(0, None).X.shape == (4, 4800)
    with pytest.raises(ValueError, match="unknown dataset"):  # a name, never a path (issue 16)
        get_spec(str(path))


def test_over_large_upload_is_refused(monkeypatch, tmp_path):
    data = make_zip(two_classes())
    monkeypatch.setenv("NNAPPS_MAX_UPLOAD_MB", str((len(data) - 1) / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"big.zip: the file is .* MB; .*\(NNAPPS_MAX_UPLOAD_MB\)"):
        uploads.store_upload(data, "big.zip")
    path = tmp_path / "big.zip"
    path.write_bytes(data)
    with pytest.raises(DatasetUnavailable, match=r"big.zip: .* MB; .*\(NNAPPS_MAX_UPLOAD_MB\)"):
        uploads.store_path(path)
    with pytest.raises(DatasetUnavailable, match="NNAPPS_MAX_UPLOAD_MB"):
        uploads.store_path(write_folder(tmp_path / "big", two_classes()))
    assert uploads.stored_specs() == []


# ---- FSDD: the Free Spoken Digit Dataset, fabricated in its real layout -------------------------

FSDD_ROOT = f"free-spoken-digit-dataset-{fsdd.VERSION}/"
SPEAKERS = ("jackson", "nicolas", "theo")
INDICES = (0, 12)


def fsdd_recording(digit: int, speaker: int, index: int) -> np.ndarray:
    """int16 samples at 8 kHz; some recordings last longer than a second."""
    seconds = 0.3 + 0.1 * ((digit + 3 * speaker + index) % 11)  # 0.3 s to 1.3 s
    freq = 200 + 100 * digit + 20 * speaker
    return np.round(sine(freq, seconds, 8000, 0.4) * 32767).astype(np.int16)


def fsdd_members(speakers=SPEAKERS) -> dict[str, bytes]:
    members = {FSDD_ROOT: b"", FSDD_ROOT + "README.md": b"# FSDD", FSDD_ROOT + "recordings/": b"",
               FSDD_ROOT + "utils/spectogramer.py": b"print()"}
    for s, speaker in enumerate(speakers):
        for digit in range(10):
            for index in INDICES:
                name = f"{FSDD_ROOT}recordings/{digit}_{speaker}_{index}.wav"
                members[name] = encode(fsdd_recording(digit, s, index), 8000, subtype="PCM_16")
    return members


def fsdd_names(speakers=SPEAKERS) -> list[tuple[str, int, str, int]]:
    """(file name, digit, speaker, speaker number) in the order the reader sorts them."""
    rows = [(f"{d}_{name}_{i}.wav", d, name, s)
            for s, name in enumerate(speakers) for d in range(10) for i in INDICES]
    return sorted(rows)


@pytest.fixture(scope="module")
def fsdd_archive() -> bytes:
    return make_zip(fsdd_members())


@pytest.fixture
def fsdd_file(tmp_path, fsdd_archive) -> Path:
    path = tmp_path / "served" / fsdd.ARCHIVE_NAME
    path.parent.mkdir()
    path.write_bytes(fsdd_archive)
    return path


def test_read_recordings(fsdd_archive):
    X, y, speakers = fsdd.read_recordings(fsdd_archive)
    names = fsdd_names()
    assert X.shape == (60, 8000) and X.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [d for _, d, _, _ in names]
    assert speakers == [s for _, _, s, _ in names]
    for row, (name, digit, _, s) in zip(X, names):
        index = int(name.rsplit("_", 1)[1].split(".")[0])
        original = fsdd_recording(digit, s, index).astype(np.float32) / 32768
        n = min(len(original), 8000)
        # Samples at 8 kHz pass unchanged; long ones are cut to a second, short ones padded.
        np.testing.assert_array_equal(row[:n], original[:n])
        assert np.all(row[n:] == 0)
    assert any(len(fsdd_recording(d, s, i)) > 8000 for _, d, _, s in names for i in INDICES)


def test_load_random_split(fsdd_file):
    raw = fsdd.load(path=fsdd_file)
    assert raw.split is None and raw.X.shape == (60, 8000)
    assert raw.class_names == [str(d) for d in range(10)]
    assert sorted(np.bincount(raw.y).tolist()) == [6] * 10


def test_load_by_speaker_holds_out_a_third_of_the_speakers(fsdd_file):
    speakers = [s for _, _, s, _ in fsdd_names()]
    seen = set()
    for seed in range(12):
        raw = fsdd.load(seed, path=fsdd_file, by_speaker=True)
        held = fsdd.held_out_speakers(speakers, seed)
        assert len(held) == 1 and set(held) <= set(SPEAKERS)
        expected = [2 if s in held else -1 for s in speakers]
        assert raw.split.tolist() == expected
        assert (raw.split == 2).sum() == 20  # one speaker's 10 digits x 2 recordings
        np.testing.assert_array_equal(fsdd.load(seed, path=fsdd_file, by_speaker=True).split,
                                      raw.split)  # the seed decides
        seen.add(tuple(held))
    assert len(seen) > 1  # different seeds hold out different speakers


@pytest.mark.parametrize("n, held", [(2, 1), (3, 1), (4, 1), (5, 2), (6, 2), (9, 3)])
def test_held_out_speakers_are_a_third_at_least_one(n, held):
    names = [f"s{i}" for i in range(n)]
    chosen = fsdd.held_out_speakers(names * 3, seed=1)
    assert len(chosen) == held and set(chosen) <= set(names) and chosen == sorted(chosen)


def test_by_speaker_needs_two_speakers(tmp_path):
    path = tmp_path / "one.zip"
    path.write_bytes(make_zip(fsdd_members(speakers=("jackson",))))
    assert fsdd.load(path=path).X.shape == (20, 8000)  # a random split is fine
    with pytest.raises(DatasetUnavailable, match="needs two speakers or more"):
        fsdd.load(path=path, by_speaker=True)


def test_download_from_a_mirror_caches_the_archive(fsdd_file, monkeypatch, tmp_path):
    monkeypatch.setattr(fsdd, "URLS", (fsdd_file.as_uri(),))
    spec = get_spec("fsdd-speakers")
    assert spec.modality == "audio" and spec.origin == "download" and spec.sample_rate == 8000
    assert fsdd.archive_path().is_relative_to(tmp_path)  # under the test's NNAPPS_DATA_DIR
    assert spec.is_cached() is False and get_spec("fsdd").is_cached() is False
    dataset = load_dataset("fsdd-speakers", 0)
    assert fsdd.archive_path().read_bytes() == fsdd_file.read_bytes()
    assert spec.is_cached() is True and get_spec("fsdd").is_cached() is True
    assert dataset.class_names == [str(d) for d in range(10)] and dataset.input_shape == (8000,)
    sizes = dataset.split_sizes()
    assert sizes["test"] == 20 and sizes["train"] + sizes["val"] == 40
    # The cached copy is used: the mirror can go away.
    fsdd_file.unlink()
    again = load_dataset("fsdd", 0)
    assert sum(again.split_sizes().values()) == 60
    assert fsdd.speakers() == sorted(SPEAKERS)


def test_download_offline_says_so(monkeypatch):
    monkeypatch.setattr(fsdd, "URLS", (UNREACHABLE,))
    with pytest.raises(DatasetUnavailable) as caught:
        load_dataset("fsdd", 0)
    message = str(caught.value)
    assert message.startswith("Could not download the Free Spoken Digit Dataset archive")
    assert "offline" in message and f"Copy the file into {fsdd.archive_path().parent}" in message
    assert not fsdd.archive_path().exists()
    assert get_spec("fsdd").is_cached() is False


def test_a_zip_that_is_not_fsdd_is_refused(tmp_path):
    path = tmp_path / "pets.zip"
    path.write_bytes(make_zip(two_classes()))
    with pytest.raises(DatasetUnavailable,
                       match=r"holds no recordings/\{digit\}_\{speaker\}_\{index\}\.wav") as caught:
        fsdd.load(path=path)
    assert str(path) in str(caught.value) and "Delete the file to download it again" in str(caught.value)
    path.write_bytes(b"an HTML error page, not a zip")
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        fsdd.load(path=path)


def test_a_corrupt_recording_is_named(tmp_path):
    members = fsdd_members()
    members[FSDD_ROOT + "recordings/3_theo_7.wav"] = b"RIFF...."
    path = tmp_path / "bad.zip"
    path.write_bytes(make_zip(members))
    with pytest.raises(DatasetUnavailable, match="recordings/3_theo_7.wav is not a readable"):
        fsdd.load(path=path)


@pytest.mark.parametrize("name", [FSDD_ROOT + "recordings/../../evil.wav", "../0_evil_0.wav",
                                  "/recordings/0_evil_0.wav"])
def test_a_zip_slip_member_in_fsdd_is_refused(tmp_path, name):
    members = fsdd_members()
    members[name] = tone_file("x.wav", rate=8000)
    path = tmp_path / "slip.zip"
    path.write_bytes(make_zip(members))
    with pytest.raises(DatasetUnavailable, match="points outside the archive") as caught:
        fsdd.load(path=path)
    assert repr(name) in str(caught.value)


# ---- spoken digits: the shipped, made dataset --------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return spoken_digits.load(), spoken_digits.voices()


def test_shipped_spoken_digits_load(shipped):
    raw, rows = shipped
    assert raw.X.shape == (3030, 8000) and raw.X.dtype == np.float32
    assert raw.class_names == ["zero", "one", "two", "three", "four", "five", "six", "seven",
                               "eight", "nine"]
    assert set(raw.split.tolist()) == {-1, 2}
    assert raw.y.tolist() == [int(r["digit"]) for r in rows]
    assert set(raw.y.tolist()) == set(range(10))
    assert spoken_digits.SPEC.modality == "audio" and spoken_digits.SPEC.sample_rate == 8000


def test_shipped_test_voices_are_never_heard_in_training(shipped):
    raw, rows = shipped
    assert len(rows) == len(raw.split)
    train = {r["variant"] for r, m in zip(rows, raw.split) if m == -1}
    test = {r["variant"] for r, m in zip(rows, raw.split) if m == 2}
    assert train and test and not train & test
    assert [r["split"] for r in rows] == ["test" if m == 2 else "train" for m in raw.split]


def test_shipped_clips_are_not_silent(shipped):
    raw, _ = shipped
    assert np.abs(raw.X).max(axis=1).min() >= audio.SILENCE_PEAK
    # Finite, and within the range a 16-bit file holds (Vorbis may overshoot full scale a little).
    assert np.isfinite(raw.X).all() and np.abs(raw.X).max() < 1.5


def test_read_manifest_refuses_missing_columns():
    header = ",".join(f for f in spoken_digits.MANIFEST_FIELDS if f != "snr_db")
    with pytest.raises(ValueError, match="needs the columns"):
        spoken_digits.read_manifest(header + "\n" + ",".join("1" * 7) + "\n")
    with pytest.raises(ValueError, match="needs the columns"):
        spoken_digits.read_manifest("# only a comment\n")
    good = "# made by a test\n" + ",".join(spoken_digits.MANIFEST_FIELDS) + "\n0,v,a,x,1,2,3,train\n"
    assert spoken_digits.read_manifest(good)[0]["split"] == "train"


def small_manifest(n: int) -> str:
    fields = ",".join(spoken_digits.MANIFEST_FIELDS)
    rows = [f"{d % 10},v{d},en,x{d},50,175,20,{'test' if d % 3 == 0 else 'train'}" for d in range(n)]
    return fields + "\n" + "\n".join(rows) + "\n"


def test_load_with_a_manifest_that_does_not_match_the_audio(tmp_path):
    stream = np.concatenate([sine(300 + 100 * i, 1.0, 8000) for i in range(3)])
    ogg, csv = tmp_path / "d.ogg", tmp_path / "d.csv"
    ogg.write_bytes(encode(stream, 8000, ".ogg"))
    csv.write_text(small_manifest(3))
    raw = spoken_digits.load(audio_path=ogg, manifest_path=csv)  # a matching pair loads
    assert raw.X.shape == (3, 8000) and raw.split.tolist() == [2, -1, -1]
    assert abs(dominant_frequency(raw.X[2], 8000) - 500) < 5
    csv.write_text(small_manifest(4))
    with pytest.raises(DatasetUnavailable, match="d.ogg holds 24000 samples at 8000 Hz; the manifest "
                                                 "expects 4 clips of 8000"):
        spoken_digits.load(audio_path=ogg, manifest_path=csv)
    ogg.write_bytes(encode(sine(300, 3.0, 16_000), 16_000, ".ogg"))  # right length, wrong rate
    csv.write_text(small_manifest(6))
    with pytest.raises(DatasetUnavailable, match="at 16000 Hz; the manifest expects"):
        spoken_digits.load(audio_path=ogg, manifest_path=csv)
    with pytest.raises(DatasetUnavailable, match="files are missing"):
        spoken_digits.load(audio_path=tmp_path / "none.ogg", manifest_path=csv)


# ---- the command line: train on a sounds zip or folder -----------------------------------------

CNN_SMALL = ["--model", "cnn", "--epochs", "2", "--json", "--n-blocks", "2", "--channels", "4",
             "--n-mels", "16", "--batch-size", "8"]


def tone_classes(n_per_class: int = 5) -> dict[str, bytes]:
    """Two classes of short tones, low and high, varying a little in pitch and length."""
    return {f"{cls}/{i}.wav": tone_file("x.wav", base + 15 * i, 0.25 + 0.02 * i, 8000)
            for cls, base in (("low", 300), ("high", 1500)) for i in range(n_per_class)}


def main_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1, captured.out
    return json.loads(lines[0])


def test_cli_trains_a_cnn_on_a_sounds_zip(tmp_path, capsys):
    path = tmp_path / "tones.zip"
    path.write_bytes(make_zip(tone_classes()))
    out = main_json(capsys, ["train", "--dataset", str(path)] + CNN_SMALL)
    assert out["dataset"].startswith("user-") and out["model"] == "cnn"
    assert out["status"] == "complete" and out["cached"] is False and out["epochs_run"] == 2
    assert 0.0 <= out["accuracy"] <= 1.0 and math.isfinite(out["log_loss"])
    assert out["features"]["n_mels"] == 16 and out["hparams"]["channels"] == 4
    run = RunStore().get(out["run_id"])
    assert run.class_names == ["high", "low"] and run.preprocessor["kind"] == "log_mel"
    assert run.input_info.shape[:2] == (1, 16)  # one channel of 16 mel bands by frames
    assert get_spec(out["dataset"]).modality == "audio"


def test_cli_trains_a_cnn_on_a_folder_of_sounds(tmp_path, capsys):
    folder = write_folder(tmp_path / "tones", tone_classes())
    out = main_json(capsys, ["train", "--dataset", str(folder)] + CNN_SMALL)
    assert out["dataset"].startswith("user-") and out["model"] == "cnn"
    assert out["status"] == "complete"
    assert RunStore().get(out["run_id"]).class_names == ["high", "low"]


def test_cli_corrupt_sounds_zip_exits_2_naming_the_file(tmp_path, capsys):
    members = tone_classes(3)
    members["low/broken.wav"] = b"RIFF\x00\x00\x00\x00WAVE"
    path = tmp_path / "broken.zip"
    path.write_bytes(make_zip(members))
    assert cli.main(["train", "--dataset", str(path)] + CNN_SMALL) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert "low/broken.wav is not a readable WAV, FLAC or OGG file" in captured.err
    assert "Traceback" not in captured.err
    assert not RunStore().list_runs() and uploads.stored_specs() == []


def test_a_long_compressed_file_is_refused_from_its_header(monkeypatch):
    """A tiny FLAC of a steady tone can hold an hour; it must be refused before it is decoded."""
    hour = encode(np.zeros(8000 * 60, np.float32) + 0.25, 8000, ".flac")  # one minute, a few KB
    assert len(hour) < 50_000
    read = []
    monkeypatch.setattr(sf, "read", lambda *a, **k: read.append(1) or (_ for _ in ()).throw(AssertionError))
    # Issue 16: the refusal used to be wrapped in "is not a readable WAV, FLAC or OGG file (...)".
    with pytest.raises(DatasetUnavailable, match=r"^long.flac is 60.0 s long; clips may be at most 10 s"):
        audio.decode(hour, "long.flac", max_seconds=10)
    assert not read  # refused from the header alone


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e30])
def test_samples_that_are_not_finite_or_absurd_are_refused(bad):
    samples = sine(440, 0.2, 8000).astype(np.float32)
    samples[10] = bad
    data = encode(samples, 8000, ".wav", subtype="FLOAT")
    with pytest.raises(DatasetUnavailable, match="not finite or far beyond full scale"):
        audio.decode(data, "bad.wav")


def test_padding_to_one_length_is_bounded_by_the_memory_it_takes(monkeypatch):
    """Many short clips and a few long ones take far more memory padded than their sound."""
    members = {f"a/{i}.wav": tone_file(f"a/{i}.wav", seconds=0.1, rate=8000) for i in range(19)}
    members.update({f"b/{i}.wav": tone_file(f"b/{i}.wav", seconds=2.0, rate=8000) for i in range(2)})
    decoded = []
    monkeypatch.setattr(user_audio, "load_clip", lambda *args: decoded.append(args) or 1 / 0)
    monkeypatch.setenv("NNAPPS_MAX_DECODED_MB", "1")  # 21 clips x 16,000 float32 samples: 1.3 MB
    with pytest.raises(DatasetUnavailable, match=r"21 clips of 2\.0 s \(the length 95% of them fit in\) take "
                                                 r"1 MB at 8 kHz; this copy allows at most 1 \(NNAPPS_MAX_DECODED_MB\)"):  # noqa: E501
        user_audio.load_audio_archive(make_zip(members), rate=8000)
    assert not decoded


def test_a_zip_of_mp3s_is_told_which_formats_work():
    data = make_zip({"yes/1.mp3": b"ID3 not really", "no/1.m4a": b"not really either"})
    with pytest.raises(DatasetUnavailable, match=r"holds \.m4a, \.mp3 sounds; convert them to WAV, FLAC or OGG"):
        uploads.store_upload(data, "phone.zip")
