"""A decoder-only Transformer over characters: given a context, a score for every next character.

Token and position embeddings, causal multi-head self-attention and MLP blocks (the
classifier's pre-norm Block with a causal mask and GPT-2's tanh GELU), a final layer norm, and an output layer that
shares its weights with the token embedding (weight tying: a character's vector is used both
to read it and to score it as the next one).
"""

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import LANGUAGE_MODEL, InputInfo, ModelFamily
from nnapps.models.layers import SeededDropout
from nnapps.models.transformer import Block

SCHEMA = Schema((
    Param("n_layers", "int", 4, "Transformer blocks (attention + MLP)", 1, 8, label="Transformer blocks"),
    Param("n_heads", "choice", 4, "Attention heads per block: each learns its own way of looking "
          "back", choices=(1, 2, 4, 8)),
    Param("width", "choice", 128, "Size of every character's vector", choices=(32, 64, 128, 192, 256),
          label="Character vector length"),
    Param("context", "int", 64, "How many characters back the model can see", 8, 256),
    Param("dropout", "float", 0.0, "Share of units zeroed at random while training", 0.0, 0.5),
))


@dataclass
class KVCache:
    """The keys and values of the characters a GPT has read so far, [keys, values] per layer,
    each (B, heads, length, width / heads): the next character then costs one position's
    work instead of the whole context's."""
    layers: list[list[torch.Tensor]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.layers[0][0].shape[2] if self.layers and self.layers[0] else 0


class GPT(nn.Module):
    """(B, T) character ids, T <= context -> (B, T, vocab) logits for the character after each."""

    def __init__(self, vocab_size: int, n_layers: int = 4, n_heads: int = 4, width: int = 128,
                 context: int = 64, dropout: float = 0.0):
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"a vocabulary needs at least 2 characters, got {vocab_size}")
        self.vocab_size, self.context = vocab_size, context
        self.tok = nn.Embedding(vocab_size, width)
        self.pos = nn.Embedding(context, width)
        self.dropout = SeededDropout(dropout)
        self.blocks = nn.ModuleList(Block(width, n_heads, dropout, causal=True, gelu="tanh") for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)
        self.head.weight = self.tok.weight
        self.apply(_init)
        # GPT-2's scaling: each residual branch's output layer starts smaller, so the stream's
        # variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith(("attn.proj.weight", "mlp.2.weight")):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layers))

    @classmethod
    def from_hparams(cls, hp: dict, vocab_size: int) -> "GPT":
        return cls(vocab_size, **SCHEMA.validate(hp))

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """With a cache, ids (B, T) follow the characters it holds, and it keeps theirs too."""
        start = 0 if cache is None else cache.length
        T = ids.shape[1]
        if start + T > self.context:
            raise ValueError(f"the model sees at most {self.context} characters, got {start + T}")
        x = self.dropout(self.tok(ids) + self.pos.weight[start:start + T])  # (B, T, C)
        if cache is not None and not cache.layers:
            cache.layers.extend([] for _ in self.blocks)
        for i, block in enumerate(self.blocks):
            x = block(x, kv=None if cache is None else cache.layers[i])
        return self.head(self.ln_f(x))

    def record_attention(self, on: bool) -> None:
        """Keep each layer's attention weights (B, heads, T, T) after the next forward pass."""
        for block in self.blocks:
            block.attn.record = on
            block.attn.last_attention = None

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weights counted once


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)


def build(hp: dict, inputs: InputInfo, n_classes: int) -> GPT:
    """The family's builder: the vocabulary is the classes, so n_classes is inputs.vocab_size."""
    return GPT(inputs.vocab_size, **hp)


TIED = ("head.weight",)  # the output layer is the token embedding


def export_weights(model: GPT) -> dict[str, torch.Tensor]:
    # The output layer is the token embedding; safetensors stores a tensor once, and the
    # tie is made again on loading.
    return {k: v for k, v in model.state_dict().items() if k not in TIED}


def import_weights(model: GPT, weights: dict[str, torch.Tensor]) -> GPT:
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing != list(TIED) or unexpected:
        raise ValueError(f"these weights do not fit this GPT: missing {missing}, unexpected {unexpected}")
    return model.eval()


FAMILY = ModelFamily(
    name="gpt", title="GPT",
    description="A decoder-only Transformer that reads characters and scores every possible next one.",
    modalities=("corpus",), schema=SCHEMA, kind="torch", task=LANGUAGE_MODEL, tied_weights=TIED,
    build=build,
    summary=lambda hp: f"{hp['n_layers']}x{hp['width']}, {hp['n_heads']} heads, context {hp['context']}",
    export_weights=export_weights, import_weights=import_weights,
)
