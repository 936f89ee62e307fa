"""Optimizers as one fused kernel call per step, through torch.optim's public functional API.

The maths is torch.optim's Adam, AdamW and SGD with momentum, computed by the very functions
those classes call (torch.optim.adam.adam, adamw.adamw, sgd.sgd with fused=True; tests compare
every step with the classes). What is left out is the classes' per-step bookkeeping (state
dicts, hooks, param-group walks), which for the small models here costs more than the update:
`python -m benchmarks --only optim` measures a training step with the classes (fused=True)
against this, and against the private kernels torch's functions call underneath.
"""

import torch
from torch import nn
from torch.optim.adam import adam
from torch.optim.adamw import adamw
from torch.optim.sgd import sgd


class FusedOptimizer:
    """Adam, AdamW or SGD (with momentum) over a fixed list of parameters; lr may change
    between steps (a schedule sets it)."""

    def __init__(self, params, kind: str, lr: float, weight_decay: float = 0.0,
                 momentum: float = 0.9, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        if kind not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be adam, adamw or sgd, got {kind!r}")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.params: list[nn.Parameter] = [p for p in params if p.requires_grad]
        self.kind, self.lr, self.weight_decay = kind, lr, weight_decay
        self.momentum, self.betas, self.eps = momentum, betas, eps
        if kind == "sgd":
            # Zero buffers: a first step then leaves exactly its gradient in the buffer, as
            # torch.optim.SGD's first step does (dampening 0), for parameters that start late too.
            self.buffers = [torch.zeros_like(p) for p in self.params]
        else:
            self.exp_avg = [torch.zeros_like(p) for p in self.params]
            self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
            # One step count per parameter (a parameter without a grad does not step), float32
            # on the parameter's device as the fused kernel wants; adam() increments them.
            self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def __repr__(self) -> str:
        return (f"FusedOptimizer({self.kind}, lr={self.lr}, weight_decay={self.weight_decay}, "
                f"n_params={len(self.params)})")

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        # Parameters that took no part in this step's loss keep their state untouched.
        live = [i for i, g in enumerate(grads) if g is not None]
        if not live:
            return
        if len(live) < len(grads):
            pick = lambda xs: [xs[i] for i in live]  # noqa: E731
        else:
            pick = lambda xs: xs  # noqa: E731
        if self.kind == "sgd":
            self._sgd(pick(self.params), pick(grads), pick(self.buffers))
        else:
            update = adamw if self.kind == "adamw" else adam
            update(pick(self.params), pick(grads), pick(self.exp_avg), pick(self.exp_avg_sq), [],
                   pick(self.steps), fused=True, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1],
                   lr=self.lr, weight_decay=self.weight_decay, eps=self.eps, maximize=False)

    def _sgd(self, params, grads, buffers) -> None:
        # Without momentum there is no buffer to keep.
        buffers = buffers if self.momentum > 0 else [None] * len(params)
        sgd(params, grads, buffers, fused=True, weight_decay=self.weight_decay, momentum=self.momentum,
            lr=self.lr, dampening=0.0, nesterov=False, maximize=False)
