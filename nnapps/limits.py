"""Limits for a copy that strangers use: each an environment variable with a safe default.

A hosted copy sets them in its environment or, on Streamlit Community Cloud, as root-level
secrets of the same names (Streamlit hands those to the environment). Whoever exceeds one is
told which, by how much, and why it is there.
"""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    variable: str
    default: float
    what: str      # "parameters in one model"
    why: str       # what the limit protects

    def value(self) -> float:
        raw = os.environ.get(self.variable)
        if raw is None:
            return self.default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{self.variable}={raw!r} is not a number") from None
        if value <= 0:
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
LIMITS = (PARAMS, EPOCHS, GPT_STEPS, CORPUS_MB)


def check(limit: Limit, value: float) -> None:
    """Raise LimitExceeded when value is over the limit's current value."""
    cap = limit.value()
    if value > cap:
        raise LimitExceeded(f"{value:,.10g} {limit.what} asked for; this copy allows at most "
                            f"{cap:,.10g} ({limit.variable}), because {limit.why}")
