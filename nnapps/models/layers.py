"""Building blocks shared by model families: activation functions and seeded dropout."""

import torch
from torch import nn

# The activation functions the app teaches; families take their names from here.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class SeededDropout(nn.Module):
    """Dropout that draws its mask from a generator the training loop owns.

    torch's own dropout draws from the process-wide generator, which two trainings running in
    threads of one server would share; then the same seed would no longer give the same run.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def set_dropout_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    for module in model.modules():
        if isinstance(module, SeededDropout):
            module.generator = generator


def padding_mask(ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """(B, T) token ids -> (B, T) bool, True where a real token is."""
    return ids != pad_id


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of x (B, T, C) where mask (B, T) is True; an empty text gives zeros."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time of x (B, T, C) where mask is True; an empty text gives zeros."""
    filled = x.masked_fill(~mask.unsqueeze(-1), float("-inf"))
    out = filled.max(1).values
    return torch.where(torch.isinf(out), torch.zeros_like(out), out)


def trim_padding(ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Drop the columns of (B, T) ids that are padding in every row.

    Texts are padded to the tokenizer's max_len, but a batch of short sentences needs only
    its longest; the models give the same outputs either way, several times faster.
    """
    real = (ids != pad_id).any(0).nonzero()
    T = int(real.max()) + 1 if len(real) else 1
    return ids[:, :T]


def dense_stack(n_in: int, n_layers: int, width: int, activation: str, dropout: float
                ) -> tuple[list[nn.Module], int]:
    """n_layers x (Linear, activation, dropout when > 0); returns the modules and the width out."""
    layers: list[nn.Module] = []
    for _ in range(n_layers):
        layers += [nn.Linear(n_in, width), make_activation(activation)]
        if dropout > 0:
            layers.append(SeededDropout(dropout))
        n_in = width
    return layers, n_in
