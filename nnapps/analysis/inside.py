"""Inside a trained network: its layers, what each computes for a sample, how its units are used,
and one backpropagation step written out by hand.

Everything is read from a stored model through forward hooks; nothing here trains.
"""

import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nnapps.models.layers import ACTIVATIONS

ACTIVATION_TYPES = tuple(ACTIVATIONS.values())
# Where a unit's slope has all but vanished: sigmoid'(4) = 0.018, tanh'(2.5) = 0.027.
SATURATION = {"sigmoid": 4.0, "tanh": 2.5}
_NAMES = {cls: name for name, cls in ACTIVATIONS.items()}


@dataclass(frozen=True)
class Layer:
    """One leaf module of a model: its name, type, the shape it outputs for one item, its own
    parameter count, and its activation function's name when it is one."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    activation: str = ""
    title: str = ""  # for people: "Layer 1: Linear 64 → 128" (layer_titles)


def _what(module: nn.Module) -> str:
    """A module's type and size in words: "Linear 64 → 128", "Conv2d 1 → 16 channels, 3x3"."""
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return f"{kind} {module.in_features} → {module.out_features}"
    if isinstance(module, nn.modules.conv._ConvNd):
        size = "x".join(map(str, module.kernel_size))
        return f"{kind} {module.in_channels} → {module.out_channels} channels, {size}"
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return f"{kind} of {module.num_embeddings:,} x {module.embedding_dim}"
    if isinstance(module, nn.RNNBase):
        return f"{kind} {module.input_size} → {module.hidden_size}"
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return f"{kind} of {module.num_features}"
    if isinstance(module, nn.LayerNorm):
        return f"{kind} of {' x '.join(map(str, module.normalized_shape))}"
    return kind


def layer_titles(model: nn.Module) -> dict[str, str]:
    """Each module's name in the code (as named_modules and the recorded gradient norms give it,
    "layers.1") -> its name for people: the modules that learn weights are numbered in order
    ("Layer 1: Linear 64 → 128"), the others say where they sit ("ReLU after layer 1")."""
    titles, number = {}, 0
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            number += 1
            titles[name or "model"] = f"Layer {number}: {_what(module)}"
        elif name and not list(module.children()):
            # Our seeded dropout is dropout to a reader.
            kind = type(module).__name__.removeprefix("Seeded")
            titles[name] = kind + (f" after layer {number}" if number else "")
    return titles


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    # A recurrent cell is a leaf here although torch sees no children in it either way.
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def _main_output(module: nn.Module, output):
    """A module's output for display: for a GRU/LSTM its final state per item, shaped
    (batch, layers x directions, hidden), since its sequence output may be packed."""
    if isinstance(module, nn.RNNBase):
        state = output[1][0] if isinstance(output[1], tuple) else output[1]
        return state.transpose(0, 1)
    output = output[0] if isinstance(output, tuple) else output
    return output if isinstance(output, torch.Tensor) else None


def trace(model: nn.Module, X: torch.Tensor) -> tuple[list[Layer], dict[str, torch.Tensor],
                                                       dict[str, torch.Tensor], torch.Tensor]:
    """Run X through model once with a hook on every leaf module.

    Returns the layers (shapes per item), each leaf's input and output tensors by name, and
    the logits. Activation modules' inputs are the pre-activations.
    """
    inputs: dict[str, torch.Tensor] = {}
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in _leaves(model):
        def hook(mod, args, out, name=name):
            if args and isinstance(args[0], torch.Tensor):
                inputs[name] = args[0].detach()
            main = _main_output(mod, out)
            if main is not None:
                outputs[name] = main.detach()
        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(X)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    leaves = {name for name, _ in _leaves(model)}
    titles = layer_titles(model)
    # Containers may own parameters too (a learned start token, say): listed so counts add up.
    layers = [Layer(name=name or "model", kind=type(module).__name__,
                    output_shape=tuple(outputs[name].shape[1:]) if name in outputs else (),
                    params=sum(p.numel() for p in module.parameters(recurse=False)),
                    activation=_NAMES.get(type(module), ""), title=titles.get(name or "model", name))
              for name, module in model.named_modules()
              if name in leaves or any(True for _ in module.parameters(recurse=False))]
    return layers, inputs, outputs, logits.detach()


def pre_activations(model: nn.Module, X: torch.Tensor) -> dict[str, tuple[str, torch.Tensor]]:
    """Each activation layer's inputs over X: {layer name: (function name, tensor)}, its units
    on axis 1: a convolution's channels, or a dense layer's features (last axis, also when the
    layer runs on every token of a sequence)."""
    layers, inputs, _, _ = trace(model, X)
    out, after_dense = {}, False
    for layer in layers:
        if layer.params:
            after_dense = layer.kind == "Linear"
        if layer.activation and layer.name in inputs:
            pre = inputs[layer.name]
            out[layer.name] = (layer.activation, pre.movedim(-1, 1) if after_dense and pre.ndim > 2 else pre)
    return out


@dataclass(frozen=True)
class Usage:
    """How one activation layer's units behave over a set of inputs."""

    units: int
    dead: int           # ReLU units never positive for any input (they pass no gradient)
    saturated: float    # share of sigmoid/tanh pre-activations beyond SATURATION
    negative: float     # share of pre-activations at or below zero

    @property
    def dead_share(self) -> float:
        return self.dead / self.units if self.units else 0.0


class _UsageCounter:
    """Unit usage gathered batch by batch, so a whole split never sits in memory at once."""

    def __init__(self, function: str):
        self.function = function
        self.ever_positive: torch.Tensor | None = None
        self.total = self.saturated = self.negative = 0

    def add(self, pre: torch.Tensor) -> None:
        units = pre.shape[1] if pre.ndim > 1 else 1
        per_unit = pre.transpose(0, 1).reshape(units, -1) if pre.ndim > 1 else pre.reshape(1, -1)
        positive = (per_unit > 0).any(dim=1)
        self.ever_positive = positive if self.ever_positive is None else self.ever_positive | positive
        limit = SATURATION.get(self.function)
        if limit is not None:
            self.saturated += int((pre.abs() > limit).sum())
        self.negative += int((pre <= 0).sum())
        self.total += pre.numel()

    def usage(self) -> Usage:
        units = len(self.ever_positive) if self.ever_positive is not None else 0
        dead = int((~self.ever_positive).sum()) if self.function == "relu" and units else 0
        total = max(self.total, 1)
        return Usage(units=units, dead=dead, saturated=self.saturated / total, negative=self.negative / total)


def unit_usage(function: str, pre: torch.Tensor) -> Usage:
    """Dead and saturated units of one layer from its pre-activations (N, units, ...).

    A unit is one feature of a dense layer or one channel of a convolution (all its positions).
    """
    counter = _UsageCounter(function)
    counter.add(pre)
    return counter.usage()


def activation_usage(model: nn.Module, X: torch.Tensor, batch: int = 64, max_values: int = 20_000,
                     seed: int = 0) -> dict[str, tuple[str, Usage, np.ndarray]]:
    """For each activation layer over X: its function, its units' usage, and a random sample of
    at most max_values pre-activations (for a histogram), gathered a batch at a time."""
    counters: dict[str, _UsageCounter] = {}
    samples: dict[str, list[np.ndarray]] = {}
    rng = np.random.default_rng(seed)
    per_batch = max(1, max_values // max(1, -(-len(X) // batch)))
    for start in range(0, len(X), batch):
        for name, (function, pre) in pre_activations(model, X[start:start + batch]).items():
            counters.setdefault(name, _UsageCounter(function)).add(pre)
            flat = pre.flatten().numpy()
            samples.setdefault(name, []).append(rng.choice(flat, size=min(per_batch, len(flat)), replace=False))
    return {name: (c.function, c.usage(), np.concatenate(samples[name])) for name, c in counters.items()}


def activation_curves(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each activation function's values and derivative (by autograd) at x."""
    out = {}
    for name, cls in ACTIVATIONS.items():
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        y = cls()(t)
        (grad,) = torch.autograd.grad(y.sum(), t)
        out[name] = (y.detach().numpy(), grad.numpy())
    return out


def natural_order(names) -> list[str]:
    """Layer names in the order a person counts: layers.2 before layers.10."""
    return sorted(names, key=lambda name: [int(part) if part.isdigit() else part
                                           for part in re.split(r"(\d+)", name)])


def hardest_item(model: nn.Module, X: torch.Tensor, y, batch: int = 256) -> int:
    """The index of the item of X with the highest cross-entropy loss under model: one gradient
    step on it visibly changes the loss, where on an item the model already gets right with
    near certainty it changes nothing shown."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = torch.cat([model(X[start:start + batch]) for start in range(0, len(X), batch)])
    finally:
        model.train(was_training)
    losses = nn.functional.cross_entropy(logits, torch.tensor(np.asarray(y), dtype=torch.int64),
                                         reduction="none")
    return int(losses.argmax())


# --- the vanishing gradient, in numbers ------------------------------------------------------

@dataclass(frozen=True)
class GradientEnds:
    """A run's gradient norms at its first and last layer, each the geometric mean over the
    recorded epochs (norms spread over orders of magnitude, so they are averaged in log)."""

    first_layer: str
    first: float
    last_layer: str
    last: float
    n_epochs: int

    @property
    def orders_first_below_last(self) -> float:
        """log10(last / first): how many orders of magnitude the gradient shrinks on its way back."""
        return math.log10(self.last / self.first)


def gradient_ends(grad_norms_by_epoch: list[dict[str, float]]) -> GradientEnds | None:
    """GradientEnds from each epoch's {layer: gradient norm}, its layers in the model's order as
    the training loop recorded them; None when fewer than two layers have positive, finite norms
    in every epoch (nothing to compare)."""
    epochs = [norms for norms in grad_norms_by_epoch if norms]
    # Not natural_order: a CNN's "classifier.1" sorts before its "features.0", and the sentence
    # named its output layer as the first.
    layers = [name for name in (epochs[0] if epochs else [])
              if all(0 < norms.get(name, 0) < math.inf for norms in epochs)]
    if len(layers) < 2:
        return None

    def mean_log(name: str) -> float:
        return 10 ** (sum(math.log10(norms[name]) for norms in epochs) / len(epochs))

    return GradientEnds(layers[0], mean_log(layers[0]), layers[-1], mean_log(layers[-1]), len(epochs))


def _orders(n: float) -> str:
    times = 10 ** abs(n)
    return f"{abs(n):.1f} orders of magnitude (about {times:,.0f} times)" if times >= 10 else \
        f"{times:.1f} times"


def vanishing_sentence(ends: dict[str, GradientEnds]) -> str:
    """What the gradient norms of the runs shown say, in words, from their numbers: how far each
    run's gradient shrinks from its last layer to its first, and how the first layers compare."""
    if not ends:
        return ""
    parts = []
    for label, e in ends.items():
        change = "smaller" if e.first < e.last else "larger"
        parts.append(f"in {label} the first layer's gradient norm ({e.first_layer}, {e.first:.2g}) is "
                     f"{_orders(e.orders_first_below_last)} {change} than the last layer's "
                     f"({e.last_layer}, {e.last:.2g})")
    n_epochs = sorted({e.n_epochs for e in ends.values()})
    over = f"{n_epochs[0]}" if len(n_epochs) == 1 else f"{n_epochs[0]} to {n_epochs[-1]}"
    text = (f"Averaged over the {over} epochs (geometric mean), " + "; ".join(parts) + ".")
    if len(ends) == 2:
        (low_label, low), (high_label, high) = sorted(ends.items(), key=lambda item: item[1].first)
        gap = math.log10(high.first / low.first)
        text += (f" {low_label}'s first layer gets gradients {_orders(gap)} smaller than "
                 f"{high_label}'s")
        text += (": the vanishing gradient, its first layers barely learn." if gap >= 1 else ".")
    return text


# --- one backpropagation step, by hand -------------------------------------------------------

def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An activation function's value and derivative at z, written out."""
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(z.dtype)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s, s * (1 - s)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1 - t ** 2
    if name == "gelu":  # exact GELU: z * Phi(z)
        from scipy.special import erf
        phi = np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi)
        cdf = 0.5 * (1 + erf(z / np.sqrt(2)))
        return z * cdf, cdf + z * phi
    raise ValueError(f"unknown activation {name!r}; valid: {sorted(ACTIVATIONS)}")


@dataclass
class DenseLayerStep:
    """One dense layer in the step: forward values, then the gradients the chain rule gives."""

    W: np.ndarray
    b: np.ndarray
    activation: str           # "" for the output layer
    a_in: np.ndarray          # this layer's input
    z: np.ndarray             # W a_in + b
    a: np.ndarray             # activation(z), or z itself for the output layer
    dz: np.ndarray = field(default=None)  # dL/dz
    dW: np.ndarray = field(default=None)  # dL/dW = dz a_in^T
    db: np.ndarray = field(default=None)  # dL/db = dz
    da_in: np.ndarray = field(default=None)  # dL/da_in = W^T dz


@dataclass
class BackpropStep:
    layers: list[DenseLayerStep]
    probabilities: np.ndarray
    target: int
    loss: float
    lr: float
    loss_after: float


def dense_layers(model: nn.Module) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(W, b, activation after it) for each Linear of an MLP, in order; "" after the last.

    Raises ValueError for a model that is not a stack of Linear layers and activations.
    """
    layers: list[list] = []
    for _, module in _leaves(model):
        if isinstance(module, nn.Linear):
            layers.append([module.weight.detach().double().numpy(), module.bias.detach().double().numpy(), ""])
        elif isinstance(module, ACTIVATION_TYPES):
            if not layers:
                raise ValueError("an activation before any dense layer")
            layers[-1][2] = _NAMES[type(module)]
        elif not isinstance(module, nn.Flatten) and type(module).__name__ != "SeededDropout":
            raise ValueError(f"only dense layers and activations can be written out, not {type(module).__name__}")
    if not layers:
        raise ValueError("the model has no dense layers")
    return [tuple(layer) for layer in layers]


def forward_dense(layers: list[tuple[np.ndarray, np.ndarray, str]], x: np.ndarray) -> list[DenseLayerStep]:
    steps, a = [], np.asarray(x, dtype=np.float64).reshape(-1)
    for W, b, activation in layers:
        z = W @ a + b
        out = _act(activation, z)[0] if activation else z
        steps.append(DenseLayerStep(W=W, b=b, activation=activation, a_in=a, z=z, a=out))
        a = out
    return steps


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def backprop_step(layers: list[tuple[np.ndarray, np.ndarray, str]], x: np.ndarray, target: int,
                  lr: float) -> BackpropStep:
    """Forward, cross-entropy loss, every gradient by the chain rule, one SGD update, and the
    loss after it, all in float64 numpy (no autograd)."""
    steps = forward_dense(layers, x)
    p = _softmax(steps[-1].z)
    loss = float(-np.log(p[target]))
    dz = p.copy()
    dz[target] -= 1.0                      # dL/dz of softmax + cross-entropy: p - onehot(y)
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        step.dz = dz
        step.dW = np.outer(dz, step.a_in)
        step.db = dz.copy()
        step.da_in = step.W.T @ dz
        if i > 0:
            dz = step.da_in * _act(steps[i - 1].activation, steps[i - 1].z)[1]
    updated = [(s.W - lr * s.dW, s.b - lr * s.db, s.activation) for s in steps]
    p_after = _softmax(forward_dense(updated, x)[-1].z)
    return BackpropStep(layers=steps, probabilities=p, target=int(target), loss=loss, lr=lr,
                        # max: a probability rounded to 1.0 gives -log 1 = -0.0, shown as "-0.0000"
                        loss_after=max(0.0, float(-np.log(p_after[target]))))
