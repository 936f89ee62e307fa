"""Spoken digits as the Free Spoken Digit Dataset publishes them, through the upload path.

Makes a zip like FSDD's recordings (one folder per digit; 8 kHz mono 16-bit WAV; 0.14 to 2.3 s,
most under 0.6 s) by cutting each shipped spoken-digits clip around its word at a drawn length,
padding with silence past the clip's ends. Then, each in a fresh process, it stores the zip as
an upload (uploads.store_upload, what the Data page does) and measures that process's peak
memory, and trains a CNN on it with `python -m nnapps train --dataset ZIP --model cnn --json`.

    python scripts/spoken_digits_zip.py --out /tmp/fsdd-like.zip

prints one JSON object: the clips' durations, the upload's notes and peak memory, and the
CNN's test accuracy. Runs under temporary NNAPPS_HOME and NNAPPS_DATA_DIR folders.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnapps.data import spoken_digits  # noqa: E402

RATE = spoken_digits.SAMPLE_RATE  # 8 kHz, as FSDD
HOP = RATE // 100  # 10 ms frames to find the word

# Run in a fresh process: its peak memory is the upload's (after the imports, measured apart).
LOAD = """
import json, resource, sys
from nnapps.data import uploads
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
spec = uploads.store_upload(open(sys.argv[1], "rb").read(), "fsdd-like.zip")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"name": spec.name, "notes": list(spec.notes), "imports_mb": before / 1024,
                  "peak_mb": peak / 1024}))
"""


def word_span(clip: np.ndarray) -> tuple[int, int]:
    """(start, end) samples from the first to the last 10 ms frame louder than four times the
    clip's noise floor (its quietest fifth of frames) and than 30 dB below its loudest, widened
    by 30 ms on each side."""
    frames = np.square(clip[:len(clip) // HOP * HOP].astype(np.float64)).reshape(-1, HOP).sum(axis=1)
    loud = np.flatnonzero(frames > max(4 * np.quantile(frames, 0.2), 1e-3 * frames.max()))
    if len(loud) == 0:
        return 0, len(clip)
    return max(0, (loud[0] - 3) * HOP), min(len(clip), (loud[-1] + 4) * HOP)


def fsdd_like(X: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Each clip cut around its word to a drawn length: most 0.25-0.6 s, a few up to 2.3 s."""
    clips = []
    for clip in X:
        start, end = word_span(clip)
        drawn = rng.uniform(1.0, 2.3) if rng.random() < 0.03 else rng.lognormal(np.log(0.4), 0.3)
        n = int(np.clip(max(drawn * RATE, end - start), 0.14 * RATE, 2.3 * RATE))
        first = start - rng.integers(0, max(1, n - (end - start)) + 1)
        out = np.zeros(n, dtype=np.float32)
        lo, hi = max(0, first), min(len(clip), first + n)
        out[lo - first:hi - first] = clip[lo:hi]  # beyond the shipped clip: silence
        clips.append(out)
    return clips


def make_zip(clips: list[np.ndarray], digits: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (clip, digit) in enumerate(zip(clips, digits)):
            wav = io.BytesIO()
            sf.write(wav, np.clip(clip, -1, 1), RATE, format="WAV", subtype="PCM_16")
            archive.writestr(f"recordings/{digit}/{digit}_voice_{i}.wav", wav.getvalue())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fsdd-like.zip")
    parser.add_argument("--clips", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    raw = spoken_digits.load()
    chosen = np.sort(rng.choice(len(raw.y), size=args.clips, replace=False))
    clips = fsdd_like(raw.X[chosen], rng)
    args.out.write_bytes(make_zip(clips, raw.y[chosen]))
    seconds = np.array([len(c) / RATE for c in clips])

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "NNAPPS_HOME": f"{home}/home", "NNAPPS_DATA_DIR": f"{home}/data",
               "PYTHONPATH": str(ROOT)}
        loaded = json.loads(subprocess.run([sys.executable, "-c", LOAD, str(args.out)], env=env, check=True,
                                           capture_output=True, text=True, cwd=ROOT).stdout)
        trained = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "nnapps", "train", "--dataset",
                                  str(args.out), "--model", "cnn", "--json"], env=env, check=True,
                                 capture_output=True, text=True, cwd=ROOT)
    run = json.loads(trained.stdout[trained.stdout.index("{"):])
    peak_kb = next(int(line.split(":")[1]) for line in trained.stderr.splitlines()
                   if "Maximum resident set size" in line)
    print(json.dumps({
        "clips": len(clips), "zip_mb": round(args.out.stat().st_size / 2**20, 2),
        "seconds": {"min": round(seconds.min(), 2), "median": round(float(np.median(seconds)), 2),
                    "p95": round(float(np.quantile(seconds, 0.95)), 2), "max": round(seconds.max(), 2),
                    "under_0.6_s": round(float((seconds < 0.6).mean()), 3),
                     "total_minutes": round(seconds.sum() / 60, 1)},
        "upload": loaded,
        "train": {"accuracy": run["accuracy"], "macro_f1": run.get("macro_f1"), "epochs": run.get("epochs"),
                  "train_seconds": run.get("train_seconds"), "peak_mb_whole_training": round(peak_kb / 1024)},
    }, indent=1))


if __name__ == "__main__":
    main()
