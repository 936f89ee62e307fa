"""Optimizer benchmark: a training step with nnapps.training.optim (torch.optim's public functional API,
fused) against torch.optim's classes (fused=True) and against the private kernels underneath.

The private-kernel optimizer below is what nnapps.training.optim was before it moved to public APIs;
it stays here only as the reference that says whether a private call would be worth keeping
(the rule: only at 1.2x or more). Each step is the one `nnapps.training.loop.fit` takes: forward,
backward, the per-layer gradient norms on every GRAD_NORM_EVERY-th step, the update.
"""

import statistics
import time
from typing import Callable

import torch
from torch import nn

from nnapps.models import InputInfo, get_family
from nnapps.models.gpt import GPT
from nnapps.training.optim import FusedOptimizer
from nnapps.training.loop import GRAD_NORM_EVERY

STEPS = 64


class PrivateKernels:
    """Adam, AdamW or SGD by one call of torch's private fused kernels (no None grads here)."""

    def __init__(self, params, kind: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.9):
        self.params = [p for p in params if p.requires_grad]
        self.kind, self.lr, self.weight_decay, self.momentum = kind, lr, weight_decay, momentum
        self.buffers = [torch.zeros_like(p) for p in self.params]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.step_counts = torch.zeros(len(self.params))
        self.steps = list(self.step_counts.unbind())

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if self.kind == "sgd":
            torch._fused_sgd_(self.params, grads, self.buffers, weight_decay=self.weight_decay,
                              momentum=self.momentum, lr=self.lr, dampening=0.0, nesterov=False,
                              maximize=False, is_first_step=False)
            return
        self.step_counts += 1
        fused = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
        fused(self.params, grads, self.exp_avg, self.exp_avg_sq, [], self.steps, lr=self.lr, beta1=0.9,
              beta2=0.999, weight_decay=self.weight_decay, eps=1e-8, amsgrad=False, maximize=False)


def _public_norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.linalg.vector_norm(t) for t in tensors]


def _class(kind: str):
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    return lambda params, lr, weight_decay: cls(params, lr=lr, weight_decay=weight_decay, fused=True, **extra)


# name -> (optimizer factory by kind, per-tensor norms)
VARIANTS = {
    "ours": (lambda kind: lambda params, lr, weight_decay: FusedOptimizer(params, kind, lr, weight_decay),
             _public_norms),
    "torch_optim_fused": (_class, _public_norms),
    "private_kernels": (lambda kind: lambda params, lr, weight_decay: PrivateKernels(params, kind, lr, weight_decay),
                        lambda tensors: list(torch._foreach_norm(tensors))),
}


def _family(name: str) -> Callable[[], nn.Module]:
    """The family's default model for 8x8 digits (1 x 8 x 8 images, 10 classes)."""
    return lambda: get_family(name).make({}, InputInfo((1, 8, 8)), 10)


def _gpt() -> nn.Module:  # the GPT page's default model on a 96-character vocabulary
    return GPT.from_hparams({}, 96)


def _batches(case: str, gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if case == "gpt":
        ids = torch.randint(0, 96, (STEPS, 32, 65), generator=gen)
        return [(w[:, :-1], w[:, 1:]) for w in ids]
    return [(torch.randn(64, 1, 8, 8, generator=gen), torch.randint(0, 10, (64,), generator=gen)) for _ in range(STEPS)]


CASES: dict[str, tuple[Callable[[], nn.Module], str, float, float]] = {
    # name: (model, optimizer kind, lr, weight decay)
    "mlp": (_family("mlp"), "adam", 1e-3, 0.0),
    "cnn": (_family("cnn"), "sgd", 0.05, 1e-4),
    "gpt": (_gpt, "adamw", 1e-3, 0.1),
}


def _steps_seconds(case: str, variant: str) -> float:
    make_model, kind, lr, weight_decay = CASES[case]
    make_optimizer, norms = VARIANTS[variant]
    torch.manual_seed(0)
    model = make_model()
    optimizer = make_optimizer(kind)(model.parameters(), lr, weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    batches = _batches(case, torch.Generator().manual_seed(1))
    sampled = []
    t0 = time.perf_counter()
    for i, (x, y) in enumerate(batches):
        loss = nn.functional.cross_entropy(model(x).flatten(0, -2), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        if i % GRAD_NORM_EVERY == 0:
            sampled.extend(norms([p.grad for p in params]))
        optimizer.step()
    torch.stack(sampled).sum().item()  # wait for every norm
    return time.perf_counter() - t0


def optimizer_speed(repeats: int) -> list[dict]:
    """Milliseconds per training step of each variant (median of interleaved repeats), and ratios."""
    out = []
    for case in CASES:
        for variant in VARIANTS:  # warm-up
            _steps_seconds(case, variant)
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(repeats):
            for variant in VARIANTS:
                times[variant].append(_steps_seconds(case, variant))
        ms = {v: 1000 * statistics.median(t) / STEPS for v, t in times.items()}
        out.append({"model": case, "optimizer": CASES[case][1], "ms_per_step": ms,
                    "torch_optim_fused_over_ours": ms["torch_optim_fused"] / ms["ours"],
                    "ours_over_private_kernels": ms["ours"] / ms["private_kernels"]})
    return out
