"""Models on pooled spectrogram statistics: each mel band's mean and spread over the clip.

Pooling forgets when a sound happened and keeps what it sounded like overall, a cheap summary
that a linear model or an MLP can take; it is the audio baseline the CNN and GRU must beat.
"""

import numpy as np
import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models import logreg, mlp
from nnapps.models.family import InputInfo, ModelFamily


def pool_stats(spectrograms: torch.Tensor) -> torch.Tensor:
    """(B, 1, n_mels, frames) -> (B, 2 * n_mels): every band's mean, then every band's spread."""
    bands = spectrograms.flatten(1, -2)  # (B, n_mels, frames)
    return torch.cat([bands.mean(-1), bands.std(-1, correction=0)], dim=1)


class PoolStats(nn.Module):
    def forward(self, x):
        return pool_stats(x)


def _bands(inputs: InputInfo) -> tuple[int, int]:
    if len(inputs.shape) != 3:
        raise ValueError(f"pooled models need spectrograms shaped (1, n_mels, frames), got {inputs.shape}")
    return inputs.shape[1], inputs.shape[2]


def _pooled_rows(n_mels: int, n_frames: int):
    """For scikit-learn, which hands the model flat rows: unflatten, then pool."""
    def pool(X: np.ndarray) -> np.ndarray:
        return pool_stats(torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(-1, 1, n_mels, n_frames)).numpy()
    return pool


def build_logreg(hp: dict, inputs: InputInfo, n_classes: int):
    """A scikit-learn Pipeline (scikit-learn imported here, as in logreg.build)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    return Pipeline([("pool", FunctionTransformer(_pooled_rows(*_bands(inputs)))),
                     ("clf", LogisticRegression(C=hp["C"], max_iter=hp["max_iter"]))])


def export_logreg(model) -> dict[str, torch.Tensor]:
    return logreg.export_linear(model.named_steps["clf"])


def import_logreg(model, weights: dict[str, torch.Tensor]):
    logreg.import_linear(model.named_steps["clf"], weights)
    return model


def build_mlp(hp: dict, inputs: InputInfo, n_classes: int) -> nn.Sequential:
    n_mels, _ = _bands(inputs)
    return nn.Sequential(PoolStats(), mlp.MLP(mlp.MLPConfig(input_dim=2 * n_mels, n_classes=n_classes, **hp)))


LOGREG_FAMILY = ModelFamily(
    name="pooled-logreg", title="Logistic regression on pooled bands",
    description="scikit-learn's linear baseline on each mel band's mean and spread over the clip: "
                "it hears the overall colour of a sound, never the order of its parts.",
    modalities=("audio",), schema=Schema((
        Param("C", "float", 1.0, "Inverse regularisation strength: smaller means simpler weights",
              1e-4, 1e4, log=True),
        Param("max_iter", "int", 1000, "Iterations the solver may take", 10, 5000),
    )), kind="sklearn", build=build_logreg,
    summary=lambda hp: f"C={hp['C']:g}", export_weights=export_logreg, import_weights=import_logreg,
)
MLP_FAMILY = ModelFamily(
    name="pooled-mlp", title="MLP on pooled bands",
    description="Layers of neurons on each mel band's mean and spread over the clip: non-linear, "
                "but still blind to when each part of the sound happens.",
    modalities=("audio",), schema=mlp.SCHEMA, kind="torch", build=build_mlp,
    summary=mlp.FAMILY.summary,
)
