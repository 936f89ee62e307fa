"""Make the spoken-digits dataset the app ships: "zero" to "nine" said by espeak-ng voices.

    apt-get install espeak-ng      # Debian's speech synthesiser; only this script needs it
    python scripts/make_spoken_digits.py

A voice is one of espeak-ng's English accents with one of its voice variants (a timbre:
male, female, croaky, whispering, robotic, ...). Each voice says every digit once, at its own
pitch and speed, placed at a random moment in a one-second clip over background noise at a
random signal-to-noise ratio. A fifth of the variants are held out: the test split holds only
voices whose timbre the training split never heard, in any accent.

The clips go into one Ogg Vorbis stream at 8 kHz (one codec header for all, which keeps the
file small) beside a CSV manifest: clip i is samples [i * 8000, (i + 1) * 8000) of the stream.
The same seed gives the same choices; espeak-ng's version is written into the manifest's
header so a changed synthesiser is visible in the diff.
"""

import argparse
import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnapps.data.spoken_digits import (  # noqa: E402  (the repository's own package)
    CLIP_SAMPLES, MANIFEST_FIELDS, SAMPLE_RATE, WORDS, default_paths)

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029")
ACCENTS_PER_VARIANT = 3
HELD_OUT_SHARE = 0.2
PITCH_RANGE = (15, 85)        # espeak-ng -p, 0..99
SPEED_RANGE = (130, 210)      # espeak-ng -s, words per minute
SNR_DB_RANGE = (5.0, 35.0)
LEVEL_DB_RANGE = (-18.0, -3.0)  # peak level of the spoken word
VORBIS_COMPRESSION = 1.0      # libsndfile's scale from 0 (best quality) to 1 (smallest file)
SILENCE_THRESHOLD = 0.01


def espeak_version() -> str:
    return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def variants() -> list[str]:
    """espeak-ng's voice variants, by file name (as `-v LANG+NAME` takes them)."""
    listing = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[1:]
    names = sorted({line.split()[4].split("/")[-1] for line in listing if len(line.split()) >= 5})
    return names


def say(word: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """The word as float32 samples at SAMPLE_RATE, silence trimmed from both ends."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed),
                          "--stdout", word], capture_output=True, check=True).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    samples = soxr.resample(samples, rate, SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD * np.abs(samples).max())
    return samples[loud[0]:loud[-1] + 1] if len(loud) else samples[:0]


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White or brown (room-like rumble) noise with unit RMS."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        brown = np.cumsum(white)
        brown -= np.linspace(brown[0], brown[-1], n)  # no drift across the clip
        white = brown
    return (white / (np.sqrt(np.mean(white ** 2)) + 1e-12)).astype(np.float32)


def clip(word: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A one-second clip: the word at a random offset and level, over noise at a random SNR."""
    word = word[:CLIP_SAMPLES]
    word = word / (np.abs(word).max() + 1e-12) * 10 ** (rng.uniform(*LEVEL_DB_RANGE) / 20)
    out = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    start = int(rng.integers(0, CLIP_SAMPLES - len(word) + 1))
    out[start:start + len(word)] = word
    snr_db = float(rng.uniform(*SNR_DB_RANGE))
    word_rms = np.sqrt(np.mean(word ** 2))
    out += noise(CLIP_SAMPLES, rng) * word_rms / 10 ** (snr_db / 20)
    return np.clip(out, -1, 1), snr_db


def make(seed: int, out_audio: Path, out_manifest: Path) -> int:
    rng = np.random.default_rng(seed)
    names = variants()
    held_out = set(rng.choice(names, size=round(len(names) * HELD_OUT_SHARE), replace=False))
    rows, clips = [], []
    for variant in names:
        for accent in rng.choice(ACCENTS, size=ACCENTS_PER_VARIANT, replace=False):
            voice = f"{accent}+{variant}"
            pitch, speed = int(rng.integers(*PITCH_RANGE)), int(rng.integers(*SPEED_RANGE))
            for digit, word in enumerate(WORDS):
                spoken = say(word, voice, pitch, speed)
                if len(spoken) == 0:
                    raise RuntimeError(f"espeak-ng said nothing for {word!r} in voice {voice}")
                samples, snr_db = clip(spoken, rng)
                clips.append(samples)
                rows.append({"digit": digit, "voice": voice, "accent": accent, "variant": variant,
                             "pitch": pitch, "speed": speed, "snr_db": round(snr_db, 1),
                             "split": "test" if variant in held_out else "train"})
        print(f"{variant}: {len(rows)} clips", file=sys.stderr)
    # Clip by clip: libsndfile's Vorbis encoder crashes on one very long write.
    with sf.SoundFile(out_audio, "w", SAMPLE_RATE, 1, format="OGG", subtype="VORBIS",
                      compression_level=VORBIS_COMPRESSION) as stream:
        for samples in clips:
            stream.write(samples)
    with open(out_manifest, "w", newline="") as f:
        f.write(f"# made by scripts/make_spoken_digits.py --seed {seed} with {espeak_version()}\n")
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    audio, manifest = default_paths()
    n = make(args.seed, audio, manifest)
    print(f"wrote {n} clips: {audio} ({audio.stat().st_size / 1e6:.2f} MB), {manifest}")


if __name__ == "__main__":
    main()
