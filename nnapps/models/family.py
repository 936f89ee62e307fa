"""What a model family declares: its name, the modalities it accepts, its hyperparameter schema."""

from dataclasses import dataclass, field
from typing import Any, Callable

from ..schema import Schema

# A family builds either an nn.Module trained by nnapps.training.fit ("torch"), or a
# scikit-learn estimator fitted by its own solver ("sklearn"); both go through one Run path.
KINDS = ("torch", "sklearn")


@dataclass(frozen=True)
class ModelFamily:
    """build(hparams, input_shape, n_classes) returns an nn.Module (logits out) or an estimator."""

    name: str
    title: str
    description: str
    modalities: tuple[str, ...]
    schema: Schema
    kind: str
    build: Callable[[dict[str, Any], tuple[int, ...], int], Any] = field(repr=False, compare=False)
    summary: Callable[[dict[str, Any]], str] = field(repr=False, compare=False, default=lambda hp: "")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"family {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")

    def make(self, hparams: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        """Validate hparams against the schema and build the model."""
        return self.build(self.schema.validate(hparams), tuple(input_shape), n_classes)
