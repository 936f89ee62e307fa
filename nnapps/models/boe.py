"""Bag of embeddings: each word's learned vector, averaged, then an MLP. Word order is lost."""

from dataclasses import dataclass

from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import ACTIVATIONS, dense_stack, masked_mean, padding_mask, trim_padding


@dataclass(frozen=True)
class BagOfEmbeddingsConfig:
    vocab_size: int
    n_classes: int
    embed_dim: int = 64
    n_layers: int = 1
    width: int = 64
    activation: str = "relu"
    dropout: float = 0.0


class BagOfEmbeddings(nn.Module):
    def __init__(self, config: BagOfEmbeddingsConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        hidden, n_out = dense_stack(config.embed_dim, config.n_layers, config.width,
                                    config.activation, config.dropout)
        self.head = nn.Sequential(*hidden, nn.Linear(n_out, config.n_classes))

    def forward(self, ids):  # (B, T) -> (B, n_classes)
        ids = trim_padding(ids)
        return self.head(masked_mean(self.embed(ids), padding_mask(ids)))  # pooled: (B, C)


SCHEMA = Schema((
    Param("embed_dim", "int", 64, "Length of each word's learned vector", 4, 512),
    Param("n_layers", "int", 1, "Hidden layers after averaging the word vectors", 0, 4),
    Param("width", "int", 64, "Neurons in each hidden layer", 2, 1024),
    Param("activation", "choice", "relu", "Non-linearity after each hidden layer", choices=tuple(ACTIVATIONS)),
    Param("dropout", "float", 0.0, "Share of hidden units zeroed at random while training", 0.0, 0.9),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> BagOfEmbeddings:
    return BagOfEmbeddings(BagOfEmbeddingsConfig(vocab_size=inputs.vocab_size, n_classes=n_classes, **hp))


FAMILY = ModelFamily(
    name="boe", title="Bag of embeddings",
    description="Averages a learned vector per word, then an MLP: it sees which words occur, not their order.",
    modalities=("text",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{hp['embed_dim']}d, {hp['n_layers']}x{hp['width']}",
)
