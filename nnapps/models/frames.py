"""GRU over frames: reads a spectrogram one short slice of time after another, with a memory."""

from dataclasses import dataclass

import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import SeededDropout


@dataclass(frozen=True)
class FrameGRUConfig:
    n_mels: int
    n_classes: int
    hidden: int = 64
    n_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.0


class FrameGRU(nn.Module):
    """Each frame's mel bands in, a (bi)directional GRU, its last states, a linear layer."""

    def __init__(self, config: FrameGRUConfig):
        super().__init__()
        self.config = config
        self.gru = nn.GRU(config.n_mels, config.hidden, num_layers=config.n_layers, batch_first=True,
                          bidirectional=config.bidirectional)
        self.dropout = SeededDropout(config.dropout)
        n_dirs = 2 if config.bidirectional else 1
        self.out = nn.Linear(config.hidden * n_dirs, config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, n_mels, frames) -> (B, n_classes)
        frames = x.flatten(1, -2).transpose(1, 2)  # (B, frames, n_mels)
        _, h = self.gru(self.dropout(frames))
        n_dirs = 2 if self.config.bidirectional else 1
        last = h[-n_dirs:].transpose(0, 1).reshape(x.shape[0], -1)
        return self.out(self.dropout(last))


SCHEMA = Schema((
    Param("hidden", "int", 64, "Size of the memory carried from frame to frame", 4, 512),
    Param("n_layers", "int", 1, "Recurrent layers stacked", 1, 3, label="Recurrent layers"),
    Param("bidirectional", "bool", True, "Also listen backwards and combine both readings"),
    Param("dropout", "float", 0.0, "Share of input and output units zeroed while training", 0.0, 0.9),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> FrameGRU:
    if len(inputs.shape) != 3:
        raise ValueError(f"frame-gru needs spectrograms shaped (1, n_mels, frames), got {inputs.shape}")
    return FrameGRU(FrameGRUConfig(n_mels=inputs.shape[1], n_classes=n_classes, **hp))


FAMILY = ModelFamily(
    name="frame-gru", title="GRU over frames",
    description="Listens slice by slice (every 16 ms by default) and keeps a memory with gates, "
                "so it hears the order of sounds: 'sev-en', not just the vowels in it.",
    modalities=("audio",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{'bi ' if hp['bidirectional'] else ''}{hp['n_layers']}x{hp['hidden']}",
)
