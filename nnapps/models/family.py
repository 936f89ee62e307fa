"""What a model family declares: its name, the modalities it accepts, its hyperparameter schema,
what it predicts (its task) and how it is built."""

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from nnapps.schema import Schema

# A family builds either an nn.Module trained by nnapps.training.loop.fit ("torch"), or a
# scikit-learn estimator fitted by its own solver ("sklearn"); both go through one Run path.
KINDS = ("torch", "sklearn")
# What a family's model predicts. A classifier scores a dataset's classes, trains by epochs
# (nnapps.training) and is listed where models of a modality are chosen; a language model
# scores the next character of a text, trains by steps on its own page (nnapps.gpt). Pages and
# the store ask a family its task, never its name.
CLASSIFIER, LANGUAGE_MODEL = "classifier", "language model"
TASKS = (CLASSIFIER, LANGUAGE_MODEL)
# Building a model draws its first weights from torch's process-wide generator, which
# trainings in threads of one server share: each seeds and builds under this lock, so the
# same seed always gives the same weights.
_BUILD_LOCK = threading.Lock()


def seeded_build(seed: int, build: Callable[[], Any]) -> Any:
    """build() with torch's generator seeded, no other thread drawing from it meanwhile."""
    with _BUILD_LOCK:
        torch.manual_seed(seed)
        return build()


@dataclass(frozen=True)
class InputInfo:
    """What a model is built for: the shape of one preprocessed item and, for token ids, the
    vocabulary size (0 for images). A fitted preprocessor says this; a run stores it."""

    shape: tuple[int, ...]
    vocab_size: int = 0

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "vocab_size": self.vocab_size}

    @classmethod
    def from_dict(cls, d: dict) -> "InputInfo":
        return cls(shape=tuple(d["shape"]), vocab_size=int(d.get("vocab_size", 0)))


def _state_dict(model) -> dict[str, torch.Tensor]:
    return model.state_dict()


def _load_state_dict(model, weights: dict[str, torch.Tensor]):
    model.load_state_dict(weights)
    return model.eval()


@dataclass(frozen=True)
class ModelFamily:
    """build(hparams, inputs, n_classes) returns an nn.Module (logits out) or an estimator.

    export_weights/import_weights turn a trained model into named tensors (stored as
    safetensors) and back; torch families use their state_dict.
    """

    name: str
    title: str
    description: str
    modalities: tuple[str, ...]
    schema: Schema
    kind: str
    build: Callable[[dict[str, Any], InputInfo, int], Any] = field(repr=False, compare=False)
    summary: Callable[[dict[str, Any]], str] = field(repr=False, compare=False, default=lambda hp: "")
    export_weights: Callable[[Any], dict[str, torch.Tensor]] = field(
        repr=False, compare=False, default=_state_dict)
    import_weights: Callable[[Any, dict[str, torch.Tensor]], Any] = field(
        repr=False, compare=False, default=_load_state_dict)
    # Starting values that suit one modality better than the schema's defaults.
    modality_defaults: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    task: str = CLASSIFIER
    # State-dict entries that are another entry's tensor (an output layer tied to the token
    # embedding): export_weights leaves them out, and loading makes the tie again.
    tied_weights: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"family {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.task not in TASKS:
            raise ValueError(f"family {self.name!r}: task must be one of {TASKS}, got {self.task!r}")
        if set(self.modality_defaults) - set(self.modalities):
            raise ValueError(f"family {self.name!r}: defaults for modalities it does not take")

    def defaults(self, modality: str) -> dict[str, Any]:
        """The schema's defaults with the modality's own starting values."""
        return self.schema.validate(self.modality_defaults.get(modality, {}))

    def make(self, hparams: dict[str, Any], inputs: InputInfo, n_classes: int):
        """Validate hparams against the schema and build the model."""
        if not isinstance(inputs, InputInfo):
            raise TypeError(f"inputs must be an InputInfo, got {type(inputs).__name__}")
        return self.build(self.schema.validate(hparams), inputs, n_classes)
