"""fastText-style classifier: the vectors of a text's words and word pairs, averaged, then one
linear layer.

After Joulin et al., "Bag of Tricks for Efficient Text Classification" (2016): word pairs
(bigrams) are hashed into a fixed number of buckets, each with a vector, so "not good" gets a
vector of its own without a vocabulary of every pair. With no hidden layer, few dimensions
(scaled to the vocabulary) and, when asked for, whole words left out of the average at random
while training (word dropout), it has little room to learn a few thousand sentences by heart,
which is where deeper networks lose to TF-IDF. Word dropout is off by default, as every
family's dropout is.
"""

from dataclasses import dataclass

import torch
from torch import nn

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.layers import SeededDropout, padding_mask, trim_padding

_PAIR_PRIME = 1_000_003  # spreads (first, second) word pairs over the buckets


def auto_embed_dim(vocab_size: int) -> int:
    """About 6 x vocab^(1/4) dimensions, a multiple of 4 within [8, 128]: the common rule of
    thumb for an embedding's size, which grows slowly with the number of words it tells apart."""
    return int(min(128, max(8, 4 * round(1.5 * vocab_size ** 0.25))))


class WordDropout(SeededDropout):
    """(B, T) mask of real tokens -> the same mask with each token dropped with probability p
    while training (a dropped word is left out of the average, as if it were not there)."""

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return mask
        return mask & (torch.rand(mask.shape, generator=self.generator, device=mask.device) >= self.p)


@dataclass(frozen=True)
class FastTextConfig:
    vocab_size: int
    n_classes: int
    embed_dim: int = 0  # 0: auto_embed_dim(vocab_size)
    bigram_buckets: int = 0  # 0: no word pairs
    word_dropout: float = 0.0


class FastText(nn.Module):
    def __init__(self, config: FastTextConfig):
        super().__init__()
        self.config = config
        dim = config.embed_dim or auto_embed_dim(config.vocab_size)
        self.embed = nn.Embedding(config.vocab_size, dim, padding_idx=0)
        self.pairs = nn.Embedding(config.bigram_buckets, dim) if config.bigram_buckets else None
        self.word_dropout = WordDropout(config.word_dropout)
        self.out = nn.Linear(dim, config.n_classes)
        # fastText's start: small vectors (torch's default, N(0, 1), would make an average of
        # a few words far larger than one of many).
        for table in (self.embed, self.pairs):
            if table is not None:
                nn.init.uniform_(table.weight, -1.0 / dim, 1.0 / dim)
        with torch.no_grad():
            self.embed.weight[0] = 0.0  # padding, as in the other text families

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, n_classes)
        ids = trim_padding(ids)
        mask = self.word_dropout(padding_mask(ids))  # (B, T)
        total = (self.embed(ids) * mask.unsqueeze(-1)).sum(1)  # (B, C)
        count = mask.sum(1)
        if self.pairs is not None and ids.shape[1] > 1:
            both = mask[:, :-1] & mask[:, 1:]  # (B, T - 1): a pair counts when both words do
            buckets = (ids[:, :-1] * _PAIR_PRIME + ids[:, 1:]) % self.config.bigram_buckets
            total = total + (self.pairs(buckets) * both.unsqueeze(-1)).sum(1)
            count = count + both.sum(1)
        return self.out(total / count.clamp(min=1).unsqueeze(-1))


SCHEMA = Schema((
    Param("embed_dim", "int", 0, "Length of each word's and pair's vector (0: chosen from the "
          "vocabulary's size, about 6 x vocabulary^(1/4))", 0, 512),
    Param("bigrams", "bool", True, "Also learn a vector per pair of neighbouring words, so that "
          "'not good' means something of its own"),
    Param("dropout", "float", 0.0, "Word dropout: the share of words left out of the average at "
          "random while training, so no single word decides", 0.0, 0.9),
))


def n_buckets(vocab_size: int) -> int:
    """Buckets for word pairs: four per word of the vocabulary, at most 100,000."""
    return min(4 * vocab_size, 100_000)


def build(hp: dict, inputs: InputInfo, n_classes: int) -> FastText:
    return FastText(FastTextConfig(vocab_size=inputs.vocab_size, n_classes=n_classes,
                                   embed_dim=hp["embed_dim"], word_dropout=hp["dropout"],
                                   bigram_buckets=n_buckets(inputs.vocab_size) if hp["bigrams"] else 0))


FAMILY = ModelFamily(
    name="fasttext", title="fastText (words and pairs)",
    description="Averages a vector per word and per pair of neighbouring words, then one linear "
                "layer: few weights to overfit with, so it does well on a few thousand sentences.",
    modalities=("text",), schema=SCHEMA, kind="torch", build=build,
    summary=lambda hp: f"{hp['embed_dim'] or 'auto'}d" + (", pairs" if hp["bigrams"] else "")
                       + (f", word dropout {hp['dropout']:g}" if hp["dropout"] else ""),
)
