"""Logistic regression: scikit-learn's linear baseline on the flattened, standardised input."""

from sklearn.linear_model import LogisticRegression

from ..schema import Param, Schema
from .family import ModelFamily

SCHEMA = Schema((
    Param("C", "float", 1.0, "Inverse regularisation strength: smaller means simpler weights",
          1e-4, 1e4, log=True),
    Param("max_iter", "int", 300, "Iterations the solver may take", 10, 5000),
))


def build(hp: dict, input_shape: tuple[int, ...], n_classes: int) -> LogisticRegression:
    return LogisticRegression(C=hp["C"], max_iter=hp["max_iter"])


FAMILY = ModelFamily(
    name="logreg", title="Logistic regression",
    description="A linear baseline from scikit-learn: one weight per pixel and class, no hidden layer.",
    modalities=("image",), schema=SCHEMA, kind="sklearn", build=build,
    summary=lambda hp: f"C={hp['C']:g}",
)
