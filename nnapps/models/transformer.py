"""Transformer encoder: every token attends to every other, with positions added to the words.

Attention is written out when its weights are to be shown (record) or padding is masked;
otherwise it runs as torch's fused kernel. The Block here is the one the GPT decoder reuses
with a causal mask.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import SeededDropout, masked_mean, padding_mask, trim_padding

POSITIONAL = ("learned", "sinusoidal", "none")


class SelfAttention(nn.Module):
    """Multi-head self-attention. key_mask (B, T) marks real tokens; causal hides later ones."""

    def __init__(self, width: int, n_heads: int, dropout: float, causal: bool = False):
        super().__init__()
        if width % n_heads:
            raise ValueError(f"width ({width}) must be divisible by n_heads ({n_heads})")
        self.n_heads, self.causal = n_heads, causal
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.dropout = SeededDropout(dropout)
        self.last_attention: torch.Tensor | None = None  # (B, heads, T, T), kept when record is set
        self.record = False

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None,
                kv: list | None = None) -> torch.Tensor:
        """kv, when given, is this layer's [keys, values] of the earlier positions (empty at
        first), extended in place: x then holds only the positions after them."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        if kv is not None:
            if kv:
                k, v = torch.cat([kv[0], k], dim=2), torch.cat([kv[1], v], dim=2)
            kv[:] = [k, v]
        past = k.shape[2] - T  # positions before x's first one, whose keys come from kv
        if key_mask is None and not self.record:
            # The same sums in one fused kernel: the GPT trains about twice as fast with it.
            if past and self.causal and T > 1:
                y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=~self._later(T, past, x.device))
            else:  # one new position may see every earlier one
                y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal and not past)
            return self.dropout(self.proj(y.transpose(1, 2).reshape(B, T, C)))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.n_heads)  # (B, heads, T, past + T)
        if self.causal:
            att = att.masked_fill(self._later(T, past, x.device), float("-inf"))
        if key_mask is not None:
            att = att.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        att = torch.softmax(att, dim=-1)
        if self.record:
            self.last_attention = att.detach()
        y = (att @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.dropout(self.proj(y))

    @staticmethod
    def _later(T: int, past: int, device) -> torch.Tensor:
        """(T, past + T) bool: True where a key comes after the query at the same row."""
        return torch.triu(torch.ones(T, past + T, dtype=torch.bool, device=device), diagonal=1 + past)


class Block(nn.Module):
    """Pre-norm transformer block: attention then a 4x-wide MLP, each added to the stream."""

    def __init__(self, width: int, n_heads: int, dropout: float, causal: bool = False,
                 gelu: str = "none"):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, n_heads, dropout, causal)
        self.ln2 = nn.LayerNorm(width)
        # gelu="tanh" is GPT-2's approximation: on CPU its backward pass costs half the exact one's.
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate=gelu),
                                 nn.Linear(4 * width, width), SeededDropout(dropout))

    def forward(self, x, key_mask=None, kv=None):  # (B, T, C) -> (B, T, C)
        x = x + self.attn(self.ln1(x), key_mask, kv)
        return x + self.mlp(self.ln2(x))


def sinusoidal_positions(max_len: int, width: int) -> torch.Tensor:
    """(max_len, width) fixed sine/cosine position codes ("Attention is all you need")."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(max_len, width)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return table


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    n_classes: int
    max_len: int
    n_layers: int = 2
    n_heads: int = 4
    width: int = 64
    positional: str = "learned"
    dropout: float = 0.0


class TransformerClassifier(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.positional not in POSITIONAL:
            raise ValueError(f"positional must be one of {POSITIONAL}, got {config.positional!r}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.width, padding_idx=0)
        if config.positional == "learned":
            self.pos = nn.Parameter(torch.randn(config.max_len, config.width) * 0.02)
        else:
            scale = 1.0 if config.positional == "sinusoidal" else 0.0
            self.register_buffer("pos", sinusoidal_positions(config.max_len, config.width) * scale)
        self.dropout = SeededDropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config.width, config.n_heads, config.dropout)
                                    for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, config.n_classes)

    def forward(self, ids):  # (B, T) -> (B, n_classes)
        ids = trim_padding(ids)
        T = ids.shape[1]
        mask = padding_mask(ids)
        # An empty text would leave a query nothing to attend to; let it see position 0.
        mask = mask.clone()
        mask[:, 0] = True
        x = self.dropout(self.embed(ids) + self.pos[:T])  # (B, T, C)
        for block in self.blocks:
            x = block(x, mask)
        return self.out(masked_mean(self.ln_f(x), mask))


SCHEMA = Schema((
    Param("n_layers", "int", 2, "Transformer blocks (attention + MLP)", 1, 6, label="Transformer blocks"),
    Param("n_heads", "choice", 4, "Attention heads: each learns its own way of relating words",
          choices=(1, 2, 4, 8)),
    Param("width", "choice", 64, "Size of every token's vector", choices=(32, 64, 128, 256),
          label="Token vector length"),
    Param("positional", "choice", "learned", "How word positions are added: without them word "
          "order is invisible", choices=POSITIONAL),
    Param("dropout", "float", 0.0, "Share of units zeroed at random while training", 0.0, 0.9),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> TransformerClassifier:
    return TransformerClassifier(TransformerConfig(vocab_size=inputs.vocab_size, n_classes=n_classes,
                                                   max_len=inputs.shape[0], **hp))


FAMILY = ModelFamily(
    name="transformer", title="Transformer",
    description="Every word looks at every other word through attention; positions tell it the order.",
    modalities=("text",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{hp['n_layers']}x{hp['width']}, {hp['n_heads']} heads"
                       + ("" if hp["positional"] == "learned" else f", {hp['positional']} positions"),
)
