"""FusedOptimizer against torch.optim: the same numbers step by step, and no private torch API
anywhere in the package."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from nnapps.training.optim import FusedOptimizer

N_STEPS = 10


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def batches():
    g = torch.Generator().manual_seed(1)
    return torch.randn(N_STEPS, 16, 6, generator=g), torch.randint(0, 3, (N_STEPS, 16), generator=g)


def step(model, optimizer, x, y):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


# (ours, reference): torch.optim with its defaults except where the row says otherwise.
CASES = {
    "adam": (dict(kind="adam", lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    "adam-weight-decay": (dict(kind="adam", lr=1e-2, weight_decay=0.05),
                          lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.05)),
    "adamw": (dict(kind="adamw", lr=1e-2, weight_decay=0.05),
              lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.05)),
    "sgd-momentum": (dict(kind="sgd", lr=0.1, momentum=0.9, weight_decay=0.01),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd-plain": (dict(kind="sgd", lr=0.1, momentum=0.0),
                  lambda p: torch.optim.SGD(p, lr=0.1)),
    "adam-betas": (dict(kind="adam", lr=3e-3, betas=(0.8, 0.99), eps=1e-6),
                   lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_optim_every_step(case):
    ours_kwargs, make_reference = CASES[case]
    ours_model, ref_model = make_model(), make_model()
    ours = FusedOptimizer(ours_model.parameters(), **ours_kwargs)
    reference = make_reference(ref_model.parameters())
    X, Y = batches()
    start = [p.detach().clone() for p in ours_model.parameters()]
    for i in range(N_STEPS):
        step(ours_model, ours, X[i], Y[i])
        step(ref_model, reference, X[i], Y[i])
        for p, q in zip(ours_model.parameters(), ref_model.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=f"{case}: step {i + 1} differs")
    moved = max((p - s).abs().max().item() for p, s in zip(ours_model.parameters(), start))
    assert moved > 1e-3  # the comparison means something only if the weights moved


def test_adamw_decay_differs_from_adam_decay():
    """Decoupled decay really is another update: the reference comparison is not vacuous."""
    a, b = make_model(), make_model()
    opt_a = FusedOptimizer(a.parameters(), "adam", lr=1e-2, weight_decay=0.05)
    opt_b = FusedOptimizer(b.parameters(), "adamw", lr=1e-2, weight_decay=0.05)
    X, Y = batches()
    for i in range(3):
        step(a, opt_a, X[i], Y[i])
        step(b, opt_b, X[i], Y[i])
    assert any((p - q).abs().max() > 1e-6 for p, q in zip(a.parameters(), b.parameters()))


class TwoHeads(nn.Module):
    """A body and two heads; a step that uses one head leaves the other without a grad."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Linear(6, 8)
        self.head_a = nn.Linear(8, 3)
        self.head_b = nn.Linear(8, 3)

    def forward(self, x, head):
        return getattr(self, head)(torch.tanh(self.body(x)))


@pytest.mark.parametrize("case", ["adam", "adamw", "sgd-momentum"])
def test_parameter_without_grad_is_left_untouched_and_later_steps_match(case):
    ours_kwargs, make_reference = CASES[case]
    ours_model, ref_model = TwoHeads(), TwoHeads()
    ours = FusedOptimizer(ours_model.parameters(), **ours_kwargs)
    reference = make_reference(ref_model.parameters())
    X, Y = batches()
    head_b_before = [p.detach().clone() for p in ours_model.head_b.parameters()]
    # Steps 1-3 use head_a only: head_b has no grad and must not move (not even by weight decay).
    # Later steps alternate, so head_b's own step count and moments start late, as in torch.optim.
    heads = ["head_a"] * 3 + ["head_b", "head_a", "head_b", "head_b", "head_a"]
    for i, head in enumerate(heads):
        for model, opt in ((ours_model, ours), (ref_model, reference)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[i], head), Y[i]).backward()
            opt.step()
        if i == 2:
            for p, before in zip(ours_model.head_b.parameters(), head_b_before):
                assert p.grad is None
                assert torch.equal(p, before)
        for p, q in zip(ours_model.parameters(), ref_model.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=f"{case}: step {i + 1} ({head})")


def test_step_with_no_grads_at_all_changes_nothing():
    model = make_model()
    opt = FusedOptimizer(model.parameters(), "adam", lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    opt.zero_grad()
    opt.step()
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_frozen_parameters_are_left_out():
    model = make_model()
    model[0].weight.requires_grad_(False)
    opt = FusedOptimizer(model.parameters(), "sgd", lr=0.1)
    assert len(opt.params) == 3
    assert all(p is not model[0].weight for p in opt.params)


def test_zero_grad_clears_grads():
    model = make_model()
    opt = FusedOptimizer(model.parameters(), "adam", lr=0.1)
    X, Y = batches()
    nn.functional.cross_entropy(model(X[0]), Y[0]).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("kind", ["rmsprop", "Adam", ""])
def test_unknown_kind_raises(kind):
    with pytest.raises(ValueError, match=rf"optimizer must be adam, adamw or sgd, got '{kind}'"):
        FusedOptimizer(make_model().parameters(), kind, lr=0.1)


@pytest.mark.parametrize("lr", [0.0, -1e-3])
def test_non_positive_lr_raises(lr):
    with pytest.raises(ValueError, match=rf"lr must be positive, got {lr}"):
        FusedOptimizer(make_model().parameters(), "adam", lr=lr)


def test_repr():
    opt = FusedOptimizer(make_model().parameters(), "adamw", lr=0.01, weight_decay=0.1)
    assert repr(opt) == "FusedOptimizer(adamw, lr=0.01, weight_decay=0.1, n_params=4)"


@pytest.mark.parametrize("case", ["adamw", "sgd-momentum"])
def test_a_learning_rate_changed_between_steps_matches_torch_optim(case):
    """The GPT's schedule sets lr before every step, as a param group's lr is set in torch.optim."""
    ours_kwargs, make_reference = CASES[case]
    ours_model, ref_model = make_model(), make_model()
    ours = FusedOptimizer(ours_model.parameters(), **ours_kwargs)
    reference = make_reference(ref_model.parameters())
    X, Y = batches()
    for i in range(N_STEPS):
        lr = ours_kwargs["lr"] * (i + 1) / N_STEPS
        ours.lr = lr
        for group in reference.param_groups:
            group["lr"] = lr
        step(ours_model, ours, X[i], Y[i])
        step(ref_model, reference, X[i], Y[i])
    for p, q in zip(ours_model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_the_package_calls_no_private_torch_api():
    """torch._anything may change or go in any release; the package keeps to public APIs
    (python -m benchmarks --only optim measures what the private kernels would save)."""
    package = Path(__file__).resolve().parents[1] / "nnapps"
    private = re.compile(r"\btorch\._[a-z]\w*")
    found = [f"{path.relative_to(package)}:{n}: {line.strip()}"
             for path in sorted(package.rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert found == []
