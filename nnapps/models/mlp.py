"""MLP: fully connected layers of neurons with a chosen activation function."""

import math
from dataclasses import dataclass

from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import ACTIVATIONS, dense_stack


@dataclass(frozen=True)
class MLPConfig:
    input_dim: int
    n_classes: int
    n_layers: int = 2
    width: int = 128
    activation: str = "relu"
    dropout: float = 0.0


class MLP(nn.Module):
    """Flatten, then n_layers x (Linear, activation, dropout), then a Linear to the logits."""

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        hidden, n_out = dense_stack(config.input_dim, config.n_layers, config.width,
                                    config.activation, config.dropout)
        self.layers = nn.Sequential(nn.Flatten(), *hidden, nn.Linear(n_out, config.n_classes))

    def forward(self, x):  # (B, *input_shape) -> (B, n_classes)
        return self.layers(x)


SCHEMA = Schema((
    Param("n_layers", "int", 2, "Hidden layers between the input and the output layer", 0, 8),
    Param("width", "int", 128, "Neurons in each hidden layer", 2, 1024),
    Param("activation", "choice", "relu", "Non-linearity after each hidden layer",
          choices=tuple(ACTIVATIONS)),
    Param("dropout", "float", 0.0, "Share of hidden units zeroed at random while training", 0.0, 0.9),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> MLP:
    return MLP(MLPConfig(input_dim=math.prod(inputs.shape), n_classes=n_classes, **hp))


FAMILY = ModelFamily(
    name="mlp", title="MLP",
    description="Every pixel connects to every neuron of the first layer; layers of neurons follow.",
    modalities=("image",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{hp['n_layers']}x{hp['width']} {hp['activation']}",
)
