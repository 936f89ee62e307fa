"""Hyperparameter schemas: declared once, they drive validation, the CLI and the UI widgets."""

import math
from dataclasses import dataclass, field
from typing import Any


# What the UI calls each hyperparameter, in words a learner knows; the technical name goes in
# the widget's help. A Param's own label wins where a name means something else in its family.
LABELS = {
    "lr": "Learning rate (lr)", "batch_size": "Batch size", "weight_decay": "Weight decay",
    "patience": "Early-stopping patience (epochs)", "optimizer": "Optimizer", "momentum": "Momentum",
    "n_layers": "Hidden layers", "width": "Neurons per layer", "embed_dim": "Word vector length",
    "hidden": "Memory size", "n_blocks": "Convolution blocks", "channels": "Filters",
    "kernel_size": "Filter size", "batch_norm": "Batch normalisation", "head": "Classifier input",
    "n_heads": "Attention heads", "positional": "Position encoding", "context": "Context length",
    "C": "Regularisation (C: higher is weaker)", "max_iter": "Solver iterations",
    "tokenizer": "Split text into", "vocab_size": "Vocabulary size", "min_freq": "Minimum word count",
    "max_len": "Tokens read per text", "window_ms": "Window (ms)", "hop_ms": "Step between windows (ms)",
    "n_mels": "Mel bands", "steps": "Training steps", "warmup": "Warm-up steps",
    "eval_every": "Steps between measurements", "bidirectional": "Read both ways",
}


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its name, kind, default, allowed range or choices and a help line.

    kind is one of "int", "float", "choice", "bool". For "float" with log=True the UI uses a
    log scale (learning rates). label is what the UI calls it, in words a learner knows (the
    name stays the CLI's and the config's); shown_if = (other param, its values) hides a
    widget that does nothing unless that param holds one of those values (momentum for SGD).
    """

    name: str
    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    log: bool = False
    label: str = ""
    shown_if: tuple = ()

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", LABELS.get(self.name, self.name.replace("_", " ").capitalize()))
        if self.kind not in ("int", "float", "choice", "bool"):
            raise ValueError(f"Param {self.name!r}: kind must be int, float, choice or bool, got {self.kind!r}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"Param {self.name!r}: default {self.default!r} not in {self.choices}")

    @property
    def help_text(self) -> str:
        """The help line ending with the technical name, as the CLI and configs spell it."""
        return f"{self.help}. Technical name: `{self.name}`." if self.help else f"Technical name: `{self.name}`."

    def shown(self, values: dict[str, Any]) -> bool:
        """Whether this Param matters given the values of the Params before it."""
        if not self.shown_if:
            return True
        other, allowed = self.shown_if
        return values.get(other) in allowed

    def coerce(self, value: Any) -> Any:
        """Convert value (possibly a string from the command line or a URL) and check its range."""
        try:
            if self.kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
            elif self.kind == "float":
                value = float(value)
            elif self.kind == "bool":
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = value.lower() in ("true", "1", "yes")
                else:
                    value = bool(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be {self.kind}, got {value!r}") from None
        if self.kind == "choice":
            matches = [c for c in self.choices if str(c) == str(value)]
            if not matches:
                raise ValueError(f"{self.name} must be one of {list(self.choices)}, got {value!r}")
            value = matches[0]
        if self.kind == "float" and math.isnan(value):  # NaN would slip past both range checks
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        if self.kind in ("int", "float"):
            if self.low is not None and value < self.low or self.high is not None and value > self.high:
                raise ValueError(f"{self.name} must be between {self.low} and {self.high}, got {value!r}")
        return value


@dataclass(frozen=True)
class Schema:
    """An ordered set of Params."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.params)

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in, every value coerced and range-checked; unknown names rejected."""
        unknown = sorted(set(values) - set(self.names()))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}; valid: {self.names()}")
        out = self.defaults()
        for p in self.params:
            if p.name in values:
                out[p.name] = p.coerce(values[p.name])
        return out


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Turn ["lr=0.01", "width=64"] into {"lr": "0.01", "width": "64"}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out
