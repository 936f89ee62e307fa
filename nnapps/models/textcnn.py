"""1D CNN over word embeddings: filters read short phrases anywhere in the text."""

from dataclasses import dataclass

import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import ACTIVATIONS, SeededDropout, make_activation, masked_max, padding_mask, trim_padding


@dataclass(frozen=True)
class TextCNNConfig:
    vocab_size: int
    n_classes: int
    embed_dim: int = 64
    n_blocks: int = 1
    channels: int = 64
    kernel_size: int = 3
    activation: str = "relu"
    dropout: float = 0.0


class TextCNN(nn.Module):
    """Embedding, n_blocks x (Conv1d over time, activation), max over time, linear."""

    def __init__(self, config: TextCNNConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        blocks: list[nn.Module] = []
        c_in = config.embed_dim
        for _ in range(config.n_blocks):
            # "same" keeps T outputs for even kernel widths too.
            blocks.append(nn.Sequential(nn.Conv1d(c_in, config.channels, config.kernel_size, padding="same"),
                                        make_activation(config.activation)))
            c_in = config.channels
        self.convs = nn.ModuleList(blocks)
        self.dropout = SeededDropout(config.dropout)
        self.out = nn.Linear(c_in, config.n_classes)

    def forward(self, ids):  # (B, T) -> (B, n_classes)
        ids = trim_padding(ids)
        mask = padding_mask(ids)
        keep = mask.unsqueeze(1).to(torch.float32)   # (B, 1, T)
        x = self.embed(ids).transpose(1, 2)           # (B, C, T): Conv1d wants channels first
        for block in self.convs:
            # Padding positions are zeroed after each block, so the next block reads the same
            # zeros however far its batch happens to be padded.
            x = block(x) * keep
        return self.out(self.dropout(masked_max(x.transpose(1, 2), mask)))  # (B, T, ch) pooled


SCHEMA = Schema((
    Param("embed_dim", "int", 64, "Length of each word's learned vector", 4, 512),
    Param("n_blocks", "int", 1, "Convolution layers stacked over the text", 1, 4),
    Param("channels", "int", 64, "Filters per layer: each learns to spot one kind of phrase", 4, 512),
    Param("kernel_size", "choice", 3, "Words each filter reads at once", choices=(2, 3, 5, 7)),
    Param("activation", "choice", "relu", "Non-linearity after each convolution", choices=tuple(ACTIVATIONS)),
    Param("dropout", "float", 0.0, "Share of features zeroed at random before the classifier", 0.0, 0.9),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> TextCNN:
    return TextCNN(TextCNNConfig(vocab_size=inputs.vocab_size, n_classes=n_classes, **hp))


FAMILY = ModelFamily(
    name="textcnn", title="Text CNN",
    description="Filters slide along the text and spot short phrases such as 'not good' wherever they occur.",
    modalities=("text",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{hp['n_blocks']}x{hp['channels']} ch, width {hp['kernel_size']}",
)
