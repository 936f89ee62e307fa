"""Optimizers as one fused kernel call per step.

The maths is torch.optim's Adam, AdamW and SGD with momentum (tests compare every step with
torch.optim); what is left out is its per-step Python bookkeeping, which for the small
models here costs more than the update itself.
"""

import torch
from torch import nn


class FusedOptimizer:
    """Adam, AdamW or SGD (with momentum) over a fixed list of parameters."""

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
            self.buffers = [torch.zeros_like(p) for p in self.params]
            self.first_step = True
        else:
            self.exp_avg = [torch.zeros_like(p) for p in self.params]
            self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
            # One tensor of step counts, seen by the kernel as one 0-d view per parameter: a
            # step then costs one add, where a list of separate counters costs an add each.
            # (All parameters share a device here; the models are small and live on one.)
            device = self.params[0].device if self.params else "cpu"
            self.step_counts = torch.zeros(len(self.params), dtype=torch.float32, device=device)
            self.steps = list(self.step_counts.unbind())

    def __repr__(self) -> str:
        return f"FusedOptimizer({self.kind}, lr={self.lr}, weight_decay={self.weight_decay}, n_params={len(self.params)})"

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads):
            self._step_some(grads)
            return
        if self.kind == "sgd":
            self._sgd(self.params, grads, self.buffers)
        else:
            self.step_counts += 1
            self._adam(self.params, grads, self.exp_avg, self.exp_avg_sq, self.steps)

    def _step_some(self, grads: list) -> None:
        # Parameters that took no part in this step's loss keep their state untouched.
        live = [i for i, g in enumerate(grads) if g is not None]
        if not live:
            return
        pick = lambda xs: [xs[i] for i in live]  # noqa: E731
        if self.kind == "sgd":
            self._sgd(pick(self.params), pick(grads), pick(self.buffers))
        else:
            self.step_counts[live] += 1
            self._adam(pick(self.params), pick(grads), pick(self.exp_avg), pick(self.exp_avg_sq),
                       pick(self.steps))

    def _sgd(self, params, grads, buffers) -> None:
        # Without momentum there is no buffer to keep, and the kernel refuses one.
        buffers = buffers if self.momentum > 0 else []
        torch._fused_sgd_(params, grads, buffers, weight_decay=self.weight_decay,
                          momentum=self.momentum, lr=self.lr, dampening=0.0, nesterov=False,
                          maximize=False, is_first_step=self.first_step)
        self.first_step = False

    def _adam(self, params, grads, exp_avg, exp_avg_sq, steps) -> None:
        fused = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
        fused(params, grads, exp_avg, exp_avg_sq, [], steps, lr=self.lr, beta1=self.betas[0],
              beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps, amsgrad=False,
              maximize=False)
