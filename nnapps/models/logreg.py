"""Logistic regression: scikit-learn's linear baseline on the flattened, standardised input."""

import torch

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily

SCHEMA = Schema((
    Param("C", "float", 1.0, "Inverse regularisation strength: smaller means simpler weights",
          1e-4, 1e4, log=True),
    Param("max_iter", "int", 300, "Iterations the solver may take", 10, 5000),
))


def build(hp: dict, inputs: InputInfo, n_classes: int):
    """A scikit-learn LogisticRegression (imported here: the registry, and with it the GPT's
    training, is imported by processes that never fit one)."""
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=hp["C"], max_iter=hp["max_iter"])


def export_linear(clf) -> dict[str, torch.Tensor]:
    return {"coef": torch.as_tensor(clf.coef_), "intercept": torch.as_tensor(clf.intercept_),
            "classes": torch.as_tensor(clf.classes_)}


def import_linear(clf, weights: dict[str, torch.Tensor]):
    clf.coef_ = weights["coef"].numpy()
    clf.intercept_ = weights["intercept"].numpy()
    clf.classes_ = weights["classes"].numpy()
    clf.n_features_in_ = clf.coef_.shape[1]
    return clf


FAMILY = ModelFamily(
    name="logreg", title="Logistic regression",
    description="A linear baseline from scikit-learn: one weight per pixel and class, no hidden layer.",
    modalities=("image",), schema=SCHEMA, kind="sklearn", build=build,
    summary=lambda hp: f"C={hp['C']:g}",
    export_weights=export_linear, import_weights=import_linear,
)
