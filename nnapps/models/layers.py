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
