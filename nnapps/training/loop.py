"""The training loop: one for every network, instrumented per epoch, stoppable between steps."""

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from nnapps.models.layers import set_dropout_generator
from nnapps.training.optim import FusedOptimizer
from nnapps.schema import Param, Schema

OPTIMIZERS = ("adam", "adamw", "sgd")
# Items per forward pass when a model is only evaluated. At 1024, the spoken-digits CNN's first
# activations alone took 130 MB each (1024 x 16 x 32 x 63 floats), 300 MB at the training's
# peak; 256 is as fast on a CPU.
EVAL_BATCH_SIZE = 256

SCHEMA = Schema((
    Param("optimizer", "choice", "adam", "How weights move along the gradient", choices=OPTIMIZERS),
    Param("lr", "float", 1e-3, "Learning rate: the step size of each update", 1e-5, 1.0, log=True),
    Param("momentum", "float", 0.9, "SGD only: how much of the last step carries over", 0.0, 0.99,
          shown_if=("optimizer", ("sgd",))),
    Param("batch_size", "int", 64, "Examples per gradient step", 1, 4096),
    Param("epochs", "int", 20, "Passes over the training split", 1, 200),
    Param("weight_decay", "float", 0.0, "Pull of every weight towards zero", 0.0, 0.1),
    Param("patience", "int", 5, "Stop after this many epochs without a better validation loss "
          "(0: never stop early)", 0, 100),
    Param("seed", "int", 0, "Seeds weights, shuffling and dropout: same seed, same run", 0, 2**31 - 1),
))


# Where a modality trains better from other starting values than the schema's defaults:
# recurrent models on the reviews dataset sit near chance for ten epochs at lr 1e-3 and
# reach 99% within twenty at 3e-3 (python -m nnapps bench). On spoken digits, the CNN with
# batch norm keeps improving past twenty epochs at 3e-3.
MODALITY_DEFAULTS: dict[str, dict] = {"text": {"lr": 3e-3},
                                      "audio": {"lr": 3e-3, "epochs": 30, "patience": 8}}


def train_defaults(modality: str) -> dict:
    """The training schema's defaults with the modality's own starting values."""
    return {**SCHEMA.defaults(), **MODALITY_DEFAULTS.get(modality, {})}


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 20
    weight_decay: float = 0.0
    patience: int = 5
    seed: int = 0
    # Not in the schema: where a run trains does not change what it is; auto picks cuda when
    # a GPU is present.
    device: str = "auto"

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        return cls(**SCHEMA.validate(values))


@dataclass
class EpochStats:
    """What one epoch did. Norms are per layer (a module owning parameters), keyed by its name:
    grad_norms is the root-mean-square of the layer's gradient norm over sampled steps (see
    GRAD_NORM_EVERY), weight_norms the norm at the end of the epoch. weight_hists holds each
    layer's histogram of weights at the end of the epoch: {"lo", "hi", "counts"} over
    WEIGHT_BINS equal bins."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    grad_norms: dict[str, float] = field(default_factory=dict)
    weight_norms: dict[str, float] = field(default_factory=dict)
    weight_hists: dict[str, dict] = field(default_factory=dict)


@dataclass
class History:
    """A run's measurements in order. unit says what EpochStats.epoch counts: epochs for a
    classifier; gradient steps for a language model, which measures every few steps (its
    accuracies are next-character accuracies, its seconds the training time since the last
    measurement)."""

    epochs: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    stopped_by_user: bool = False
    device: str = "cpu"
    unit: str = "epoch"

    def stop_note(self, patience: int, epochs: int) -> str:
        """Why training ended before its last epoch, in words ("" when it did not stop early)."""
        if not self.stopped_early or not self.epochs:
            return ""
        plural = "s" if patience != 1 else ""
        return (f"stopped early at epoch {self.epochs[-1].epoch} of {epochs}: validation loss had not "
                f"improved for {patience} epoch{plural} (patience), so the weights of epoch "
                f"{self.best_epoch}, the best, were kept")

    @property
    def train_seconds(self) -> float:
        return float(sum(e.seconds for e in self.epochs))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**{**d, "epochs": [EpochStats(**e) for e in d["epochs"]]})


@dataclass
class TensorData:
    """Preprocessed splits as tensors: X (N, *input_shape) float32 or int64 ids, y (N,) int64."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor

    @classmethod
    def from_numpy(cls, X_train, y_train, X_val, y_val) -> "TensorData":
        """Integer inputs (token ids) stay int64; everything else becomes float32. Labels are
        copied: they may be a shared read-only copy (the pages' cached dataset)."""
        return cls(as_input(X_train), torch.tensor(y_train, dtype=torch.int64),
                   as_input(X_val), torch.tensor(y_val, dtype=torch.int64))


def as_input(X: np.ndarray) -> torch.Tensor:
    """A model input tensor: int64 for token ids, float32 otherwise."""
    dtype = np.int64 if np.issubdtype(np.asarray(X).dtype, np.integer) else np.float32
    return torch.as_tensor(np.ascontiguousarray(X, dtype=dtype))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no GPU is available; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def make_optimizer(model: nn.Module, config: TrainConfig) -> FusedOptimizer:
    return FusedOptimizer(model.parameters(), config.optimizer, lr=config.lr,
                          weight_decay=config.weight_decay, momentum=config.momentum)


# Below this many multiply-adds per step, a second thread costs more in hand-offs than it
# saves (an MLP on 8x8 digits); above it (a CNN on 28x28 images) two threads halve the time.
_SINGLE_THREAD_MACS = 2_000_000
# Gradient norms are sampled on every GRAD_NORM_EVERY-th step (the first of each epoch
# always): measured on every step they cost about a tenth of a small model's training time,
# and a quarter of the steps trace the same curves.
GRAD_NORM_EVERY = 4
# Bins of the per-layer weight histograms each epoch records (for the Inside page).
WEIGHT_BINS = 30


def macs_per_sample(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of Linear and Conv layers for one forward pass of x (1, *input_shape)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):  # applied to every position of a sequence
            total += output.numel() * module.in_features
        elif isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * module.in_channels // module.groups * k

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def threads_for(model: nn.Module, x: torch.Tensor, batch_size: int, available: int) -> int:
    """How many of the available CPU threads a training step of this size should use."""
    if macs_per_sample(model, x) * batch_size < _SINGLE_THREAD_MACS:
        return 1
    return max(available, 1)


def memory_format_for(model: nn.Module, X: torch.Tensor) -> torch.memory_format:
    """channels_last for a convolutional network on (N, C, H, W) inputs, else the usual layout.

    oneDNN's convolutions, batch norm and pooling work on channels-last maps on CPU: a training
    step of the spoken-digits CNN took 2.4 ms a clip against 3.3 ms, the digits CNN's 0.11 ms an
    image against 0.14 ms (torch.profiler, one thread).
    """
    if X.dim() == 4 and any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return torch.channels_last
    return torch.contiguous_format


def layer_groups(model: nn.Module) -> tuple[list[str], list[nn.Parameter], torch.Tensor]:
    """Layer names, the parameters in order, and for each parameter the index of its layer."""
    names: list[str] = []
    params: list[nn.Parameter] = []
    owner: list[int] = []
    for pname, p in model.named_parameters():
        layer = pname.rsplit(".", 1)[0] if "." in pname else pname
        if layer not in names:
            names.append(layer)
        params.append(p)
        owner.append(names.index(layer))
    return names, params, torch.tensor(owner)


def weight_histograms(names: list[str], params: list[nn.Parameter], owner: torch.Tensor,
                      bins: int = WEIGHT_BINS) -> dict[str, dict]:
    """Each layer's weights (all its parameters together) as a histogram over its own range."""
    out = {}
    owners = owner.tolist()
    with torch.no_grad():
        for i, name in enumerate(names):
            values = torch.cat([p.detach().flatten().float() for p, o in zip(params, owners) if o == i])
            # A diverged run's NaN or infinite weights have no histogram; its finite ones do.
            values = values[torch.isfinite(values)]
            if not len(values):
                out[name] = {"lo": 0.0, "hi": 0.0, "counts": []}
                continue
            lo, hi = values.min().item(), values.max().item()
            if hi <= lo:
                hi = lo + 1e-6
            out[name] = {"lo": lo, "hi": hi, "counts": torch.histc(values, bins, lo, hi).int().tolist()}
    return out


def evaluate_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                  batch_size: int = EVAL_BATCH_SIZE) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of model on (X, y), without gradients."""
    if len(y) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=X.device)
    correct = torch.zeros((), device=X.device, dtype=torch.int64)
    with torch.inference_mode():
        for start in range(0, len(y), batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum")
            correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    return loss_sum.item() / len(y), correct.item() / len(y)


def fit(model: nn.Module, data: TensorData, config: TrainConfig,
        on_epoch: Callable[[EpochStats], None] | None = None,
        should_stop: Callable[[], bool] | None = None, threads: int | None = None) -> History:
    """Train model in place on data; returns the per-epoch History.

    The model's weights must already be initialised (seeded) by the caller. should_stop is
    checked before every step: training then ends cleanly and keeps what was learned. With
    patience > 0 the weights of the best validation epoch are restored at the end.

    threads: the CPU threads this training may use, given only by a caller that trains one
    thing at a time in its process (a worker process, the command line, the thread executor
    with one slot): torch's thread count
    is one setting per process, so fit then sets it, once, to as many of them as pay off for
    the model's size, and leaves it for the caller's next training to set again. None leaves
    torch's setting alone (trainings in threads of one process share the count their executor
    set once).
    """
    device = resolve_device(config.device)
    model.to(device)
    memory_format = memory_format_for(model, data.X_train)
    model.to(memory_format=memory_format)
    if threads is not None and device.type == "cpu" and len(data.X_train):
        was_training = model.training
        model.eval()
        torch.set_num_threads(threads_for(model, data.X_train[:1], config.batch_size, threads))
        model.train(was_training)
    try:
        return _fit(model, data, config, device, memory_format, on_epoch, should_stop)
    finally:
        model.to("cpu", memory_format=torch.contiguous_format)
        set_dropout_generator(model, None)


def _fit(model, data, config, device, memory_format, on_epoch, should_stop) -> History:
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    set_dropout_generator(model, torch.Generator(device=device).manual_seed(config.seed + 1))
    X, y = data.X_train.to(device, memory_format=memory_format), data.y_train.to(device)
    X_val, y_val = data.X_val.to(device, memory_format=memory_format), data.y_val.to(device)
    optimizer = make_optimizer(model, config)
    names, params, owner = layer_groups(model)
    owner = owner.to(device)
    history = History(device=str(device))
    best_loss, best_state, bad_epochs = float("inf"), None, 0
    n = len(y)

    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        # One gather per epoch; each batch is then a contiguous slice, not a fresh gather.
        perm = torch.randperm(n, generator=shuffle_gen).to(device)
        Xs, ys = X[perm], y[perm]
        # Per-step results stay on the device as tensors and are reduced once per epoch: a
        # .item() or a reduction per step would cost more than the step on small models.
        losses, preds, grad_norms = [], [], []
        for start in range(0, n, config.batch_size):
            if should_stop is not None and should_stop():
                history.stopped_by_user = True
                break
            xb, yb = Xs[start:start + config.batch_size], ys[start:start + config.batch_size]
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            if len(losses) % GRAD_NORM_EVERY == 0:
                grad_norms.extend(torch.linalg.vector_norm(p.grad) for p in params)
            optimizer.step()
            losses.append(loss.detach())
            preds.append(logits.detach().argmax(1))
        n_steps = len(losses)
        if n_steps == 0:
            break
        n_seen = min(n, n_steps * config.batch_size)
        sizes = torch.full((n_steps,), float(config.batch_size), device=device)
        sizes[-1] = n_seen - (n_steps - 1) * config.batch_size
        train_loss = (torch.stack(losses) * sizes).sum().item() / n_seen
        train_acc = (torch.cat(preds) == ys[:n_seen]).sum().item() / n_seen
        n_sampled = len(grad_norms) // len(params)
        grad_sq = torch.zeros(len(names), device=device)
        grad_sq.index_add_(0, owner.repeat(n_sampled), torch.stack(grad_norms) ** 2)
        val_loss, val_acc = evaluate_loss(model, X_val, y_val)
        with torch.no_grad():
            w_sq = torch.zeros(len(names), device=device)
            w_sq.index_add_(0, owner, torch.stack([torch.linalg.vector_norm(p) for p in params]) ** 2)
        stats = EpochStats(
            epoch=epoch, train_loss=train_loss, train_acc=train_acc,
            val_loss=val_loss, val_acc=val_acc, seconds=time.perf_counter() - t0,
            # Root-mean-square of each layer's gradient norm over the sampled steps.
            grad_norms=dict(zip(names, (grad_sq / n_sampled).sqrt().tolist())),
            weight_norms=dict(zip(names, w_sq.sqrt().tolist())),
            weight_hists=weight_histograms(names, params, owner),
        )
        history.epochs.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if history.stopped_by_user:
            break
        if val_loss < best_loss - 1e-6:
            best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch
            if config.patience > 0:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if config.patience > 0 and bad_epochs >= config.patience:
                history.stopped_early = True
                break
    if best_state is not None and not history.stopped_by_user:
        model.load_state_dict(best_state)
    return history
