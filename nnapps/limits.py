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
RUNS_PER_VISITOR = Limit("NNAPPS_MAX_RUNS_PER_VISITOR", 100, "runs kept by one visitor",
                         "every visitor's runs share this copy's disk")
# Eviction, not refusal: what retention.evict removes, oldest first (examples are kept).
RUN_AGE_DAYS = Limit("NNAPPS_MAX_RUN_AGE_DAYS", 30, "days a visitor's run is kept after its last use",
                     "runs nobody comes back to would fill the disk")
STORE_MB = Limit("NNAPPS_MAX_STORE_MB", 2048, "MB of stored runs in all",
                 "the disk is shared by every visitor")
# Trainings at once: each takes a core and, in a worker process, its own few hundred MB.
TRAININGS = Limit("NNAPPS_MAX_TRAININGS", os.cpu_count() or 1, "trainings at once",
                  "each training takes a CPU core and its memory until it ends", public=1)
SWEEP_TRIALS = Limit("NNAPPS_MAX_SWEEP_TRIALS", 1000, "trials in one sweep",
                     "every trial is queued, trained and stored", public=24)
LIMITS = (TRAININGS, SWEEP_TRIALS, PARAMS, EPOCHS, GPT_STEPS, CORPUS_MB, DATASET_ITEMS, RUNS_PER_VISITOR, RUN_AGE_DAYS, STORE_MB)


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
