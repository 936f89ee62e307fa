"""Limits for a copy that strangers use: each an environment variable with a local and a public default.

A copy is public when NNAPPS_PUBLIC is set to 1 (the hosting instructions set it); a local copy
is one person's own and gets generous defaults, and never evicts their work. Any limit can be
set on its own in the environment or, on Streamlit Community Cloud, as a root-level secret of
the same name (Streamlit hands those to the environment). Whoever exceeds one is told which, by
how much, and why it is there.
"""

import math
import os
from dataclasses import dataclass

PUBLIC_VARIABLE = "NNAPPS_PUBLIC"


def is_public() -> bool:
    """Whether this copy serves strangers (NNAPPS_PUBLIC=1/true/yes), so its public limits apply."""
    raw = os.environ.get(PUBLIC_VARIABLE, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{PUBLIC_VARIABLE}={raw!r} must be 1 or 0")


@dataclass(frozen=True)
class Limit:
    variable: str
    default: float  # on a local copy
    what: str       # "parameters in one model"
    why: str        # what the limit protects
    public: float | None = None  # on a public copy; None: the same as default

    def value(self) -> float:
        raw = os.environ.get(self.variable)
        if raw is None:
            return self.public if self.public is not None and is_public() else self.default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{self.variable}={raw!r} is not a number") from None
        if value <= 0 or math.isnan(value):
            raise ValueError(f"{self.variable}={raw!r} must be positive")
        return value


class LimitExceeded(ValueError):
    """A request over one of this copy's limits; the message says which and why."""


PARAMS = Limit("NNAPPS_MAX_PARAMS", 10_000_000, "parameters in one model",
               "memory and training time grow with a model's size")
EPOCHS = Limit("NNAPPS_MAX_EPOCHS", 200, "epochs of one training",
               "a training holds one of the few training slots until it ends")
GPT_STEPS = Limit("NNAPPS_MAX_GPT_STEPS", 20_000, "steps of one GPT training",
                  "a training holds one of the few training slots until it ends")
CORPUS_MB = Limit("NNAPPS_MAX_CORPUS_MB", 5, "MB of text for a GPT",
                  "the whole text is held in memory while the model trains")
DATASET_ITEMS = Limit("NNAPPS_MAX_DATASET_ITEMS", 100_000, "examples in an uploaded dataset",
                      "the whole dataset is decoded into memory while a model trains on it")
# A text table (data/text_table.py): a big file is sampled down and long texts cut, not refused.
TEXT_MB = Limit("NNAPPS_MAX_TEXT_MB", 100, "MB in one text file (CSV or TSV)",
                "reading a file takes about 12 times its size in memory", public=20)
TEXT_ROWS = Limit("NNAPPS_MAX_TEXT_ROWS", 100_000, "rows kept of a text file (a bigger one is sampled)",
                  "every text is tokenised and held in memory while a model trains on it",
                  public=20_000)
TEXT_CHARS = Limit("NNAPPS_MAX_TEXT_CHARS", 100_000, "characters kept of one text (a longer one is cut)",
                   "the models read the first few hundred words, and memory holds every text",
                   public=10_000)
TEXT_CLASSES = Limit("NNAPPS_MAX_TEXT_CLASSES", 100, "classes in a text file",
                     "hundreds of classes usually mean the wrong column was taken as the label")
RUNS_PER_VISITOR = Limit("NNAPPS_MAX_RUNS_PER_VISITOR", math.inf, "runs kept by one visitor",
                         "every visitor's runs share this copy's disk", public=100)
# Eviction, not refusal: what retention.evict removes, oldest first (examples are kept). A
# local copy is one person's: nothing of theirs is ever removed unless they set these.
RUN_AGE_DAYS = Limit("NNAPPS_MAX_RUN_AGE_DAYS", math.inf, "days a visitor's run is kept after its last use",
                     "runs nobody comes back to would fill the disk", public=30)
STORE_MB = Limit("NNAPPS_MAX_STORE_MB", math.inf, "MB of stored runs in all",
                 "the disk is shared by every visitor", public=2048)

# Uploads: sizes, then costs (what decoding takes, counted from the files' headers before any
# decoding), then memory. Local defaults are what a laptop holds; public ones keep one
# visitor's upload from holding the server for long.
UPLOAD_MB = Limit("NNAPPS_MAX_UPLOAD_MB", 1024, "MB in one uploaded file",
                  "an upload is held in memory while it is checked", public=50)
MEMBER_MB = Limit("NNAPPS_MAX_MEMBER_MB", 200, "MB in one file of a zip, uncompressed",
                  "each file is decompressed into memory to be decoded", public=20)
ARCHIVE_MB = Limit("NNAPPS_MAX_ARCHIVE_MB", 8192, "MB of images or sounds in a zip, uncompressed",
                   "a small zip can decompress to far more than its size", public=300)
CLASSES = Limit("NNAPPS_MAX_CLASSES", 1000, "classes in an uploaded zip",
                "every class is a column of every chart and table", public=100)
IMAGE_SIDE = Limit("NNAPPS_MAX_IMAGE_SIDE", 8192, "pixels on the longer side of one image",
                   "an image is decoded whole before it is scaled down", public=4096)
MEGAPIXELS = Limit("NNAPPS_MAX_MEGAPIXELS", 20_000, "million pixels to decode from an upload's images",
                   "decoding takes time in proportion to the pixels, however small the files", public=2000)
CLIP_SECONDS = Limit("NNAPPS_MAX_CLIP_SECONDS", 60, "seconds in one sound clip",
                     "clips are padded to the length most of them fit in, which can be this long",
                     public=10)
SOUND_MINUTES = Limit("NNAPPS_MAX_SOUND_MINUTES", 600, "minutes of sound in an upload, all clips together",
                      "every minute is decoded and resampled before the clips are cut to one length",
                      public=60)
AUDIO_MSAMPLES = Limit("NNAPPS_MAX_AUDIO_MSAMPLES", 10_000, "million samples to decode from an upload's sounds "
                       "(every channel, at each file's own rate)",
                       "decoding takes time in proportion to the samples, however small the files", public=400)
DECODED_MB = Limit("NNAPPS_MAX_DECODED_MB", 4096, "MB that an upload's decoded images or sounds take in memory",
                   "the whole dataset stays in memory while a model trains on it", public=512)

# Trainings at once: each takes a core and, in a worker process, its own few hundred MB.
TRAININGS = Limit("NNAPPS_MAX_TRAININGS", os.cpu_count() or 1, "trainings at once",
                  "each training takes a CPU core and its memory until it ends", public=1)
# Uploads checked at once by the server: decoding one takes a core for as long as it lasts.
UPLOAD_DECODERS = Limit("NNAPPS_MAX_UPLOAD_DECODERS", 2, "uploads checked at once",
                        "decoding an upload's images or sounds takes a CPU core until it ends", public=1)
SEEDS = Limit("NNAPPS_MAX_SEEDS", 20, "seeds of one config trained at once",
              "each seed is a whole training that holds a training slot", public=5)
SWEEP_TRIALS = Limit("NNAPPS_MAX_SWEEP_TRIALS", 1000, "trials in one sweep",
                     "every trial is queued, trained and stored", public=24)

LIMITS = (TRAININGS, PARAMS, EPOCHS, GPT_STEPS, CORPUS_MB, DATASET_ITEMS, TEXT_MB, TEXT_ROWS, TEXT_CHARS,
          TEXT_CLASSES, RUNS_PER_VISITOR, RUN_AGE_DAYS, STORE_MB, UPLOAD_MB, MEMBER_MB, ARCHIVE_MB, CLASSES,
          IMAGE_SIDE, MEGAPIXELS, CLIP_SECONDS, SOUND_MINUTES, AUDIO_MSAMPLES, DECODED_MB, SEEDS, SWEEP_TRIALS,
          UPLOAD_DECODERS)


def check(limit: Limit, value: float) -> None:
    """Raise LimitExceeded when value is over the limit's current value."""
    why = over(limit, value)
    if why:
        raise LimitExceeded(f"{value:,.10g} {limit.what} asked for; {why}")


def over(limit: Limit, value: float) -> str | None:
    """None when value is within limit, else "this copy allows at most ... because ..."."""
    cap = limit.value()
    if value <= cap:
        return None
    return f"this copy allows at most {cap:,.10g} ({limit.variable}), because {limit.why}"
