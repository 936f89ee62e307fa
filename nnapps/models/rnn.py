"""Recurrent networks (GRU and LSTM): read the text one token at a time, carrying a memory."""

from dataclasses import dataclass

from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import SeededDropout, padding_mask, trim_padding

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


@dataclass(frozen=True)
class RNNConfig:
    vocab_size: int
    n_classes: int
    cell: str = "gru"
    embed_dim: int = 64
    hidden: int = 64
    n_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.0


class RNNClassifier(nn.Module):
    """Embedding, a (bi)directional GRU/LSTM over the real tokens, the last states, linear."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {config.cell!r}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        # The cell's own between-layer dropout draws from torch's shared generator; dropout
        # here is SeededDropout on its input and output instead, so a seed fixes the run.
        self.rnn = CELLS[config.cell](config.embed_dim, config.hidden, num_layers=config.n_layers,
                                      batch_first=True, bidirectional=config.bidirectional)
        self.dropout = SeededDropout(config.dropout)
        n_dirs = 2 if config.bidirectional else 1
        self.out = nn.Linear(config.hidden * n_dirs, config.n_classes)

    def forward(self, ids):  # (B, T) -> (B, n_classes)
        ids = trim_padding(ids)
        # An empty text still gets one (padding) step, since packing needs a length of 1.
        lengths = padding_mask(ids).sum(1).clamp(min=1).cpu()
        x = self.dropout(self.embed(ids))             # (B, T, E)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        n_dirs = 2 if self.config.bidirectional else 1
        last = h[-n_dirs:].transpose(0, 1).reshape(ids.shape[0], -1)  # (B, hidden * n_dirs)
        return self.out(self.dropout(last))


SCHEMA = Schema((
    Param("embed_dim", "int", 64, "Length of each word's learned vector", 4, 512),
    Param("hidden", "int", 64, "Size of the memory carried from word to word", 4, 512),
    Param("n_layers", "int", 1, "Recurrent layers stacked", 1, 3, label="Recurrent layers"),
    Param("bidirectional", "bool", True, "Also read the text backwards and combine both readings"),
    Param("dropout", "float", 0.0, "Share of embedding and output units zeroed while training", 0.0, 0.9),
))


def _family(cell: str, title: str, description: str) -> ModelFamily:
    def build(hp: dict, inputs: InputInfo, n_classes: int) -> RNNClassifier:
        return RNNClassifier(RNNConfig(vocab_size=inputs.vocab_size, n_classes=n_classes, cell=cell, **hp))

    return ModelFamily(
        name=cell, title=title, description=description, modalities=("text",), schema=SCHEMA,
        kind="torch", build=build,
        summary=lambda hp: f"{'bi ' if hp['bidirectional'] else ''}{hp['n_layers']}x{hp['hidden']}",
    )


GRU_FAMILY = _family("gru", "GRU", "Reads word by word and keeps a memory with gates that learn what to "
                                   "keep: it can tell 'not good' from 'good'.")
LSTM_FAMILY = _family("lstm", "LSTM", "Like the GRU with a separate long-term memory cell; slower, "
                                      "sometimes better on long texts.")
