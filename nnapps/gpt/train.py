"""Training a character-level GPT: random windows of the text, AdamW, warm-up then cosine decay.

Evaluation reads fixed windows (evenly spaced, the same every time), so the loss curve moves
only because the model does, and a run's numbers depend on its seed alone.
"""

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from nnapps import limits
from nnapps.models.family import seeded_build
from nnapps.models.layers import set_dropout_generator
from nnapps.training.optim import FusedOptimizer
from nnapps.schema import Param, Schema
from nnapps.training.loop import resolve_device
from nnapps.models.gpt import GPT
from nnapps.models.gpt import SCHEMA as MODEL_SCHEMA
from nnapps.gpt.sampling import evaluating, generate
from nnapps.gpt.vocab import MAX_DISTINCT, CharVocab

SCHEMA = Schema((
    Param("steps", "int", 600, "Gradient steps: each reads batch_size windows of the text", 1, 20000),
    Param("batch_size", "int", 32, "Windows of text per step", 1, 512),
    Param("lr", "float", 8e-3, "Peak learning rate, reached after the warm-up", 1e-5, 0.1, log=True),
    Param("warmup", "int", 100, "Steps over which the learning rate rises from zero", 0, 5000),
    Param("weight_decay", "float", 0.1, "Pull of every weight matrix towards zero", 0.0, 0.5),
    Param("eval_every", "int", 100, "Steps between measurements of the loss (and a sample)", 1, 20000),
    Param("seed", "int", 0, "Seeds weights, the windows read and dropout: same seed, same run",
          0, 2**31 - 1),
))

# Evaluation reads at most this many windows of each split: enough for a loss to two decimals,
# few enough that measuring costs a small share of training.
EVAL_WINDOWS = 256
FINAL_EVAL_WINDOWS = 1024
# Windows scored at once while measuring: 128 took 120 MB of peak memory for the GPT's
# defaults, 32 takes 35 MB, at about the same speed.
EVAL_BATCH = 32
MIN_LR_SHARE = 0.1  # the cosine ends at a tenth of the peak, as nanoGPT's does
GRAD_CLIP = 1.0
BETAS = (0.9, 0.99)  # a shorter memory for the squared gradient suits small batches of text
SAMPLE_CHARS = 160
# Each measurement writes a sample, and a run keeps them all: a bound on their number keeps
# a run's record (and the page that lists its samples) small.
MAX_MEASUREMENTS = 200


@dataclass
class EvalPoint:
    step: int
    train_loss: float
    val_loss: float
    seconds: float  # training time so far, without the time spent measuring
    sample: str = ""
    # Share of places whose next character is the most probable one (None in runs stored
    # before it was measured).
    train_acc: float | None = None
    val_acc: float | None = None


@dataclass
class LMResult:
    model: GPT
    vocab: CharVocab
    curve: list[EvalPoint]
    steps: int
    seconds: float
    tokens_per_s: float
    train_loss: float
    val_loss: float
    stopped_by_user: bool = False
    device: str = "cpu"


def check_measurements(config: dict) -> dict:
    if config["steps"] / config["eval_every"] > MAX_MEASUREMENTS:
        raise ValueError(f"eval_every {config['eval_every']} would measure {config['steps'] // config['eval_every']:,} "
                         f"times in {config['steps']:,} steps; at most {MAX_MEASUREMENTS} (eval_every at "
                         f"least {-(-config['steps'] // MAX_MEASUREMENTS)})")
    return config


def encode_splits(train_text: str, val_text: str, context: int) -> tuple[CharVocab, torch.Tensor, torch.Tensor]:
    """The vocabulary (of both splits: a character seen only in validation still needs an id)
    and both splits as ids."""
    if len(train_text) < context + 2 or len(val_text) < 2:
        raise ValueError(f"the text is too short for a context of {context} characters: "
                         f"{len(train_text):,} training and {len(val_text):,} validation characters")
    vocab = CharVocab.of(train_text + val_text)
    if len(vocab) > MAX_DISTINCT:
        raise ValueError(f"the text uses {len(vocab):,} different characters; at most {MAX_DISTINCT:,}")
    return vocab, vocab.encode(train_text), vocab.encode(val_text)


def fixed_windows(ids: torch.Tensor, context: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to n evenly spaced (inputs, targets) windows; shorter than context if the text is."""
    span = min(context, len(ids) - 1)
    starts = torch.linspace(0, len(ids) - span - 1, min(n, len(ids) - span)).long()
    rows = starts[:, None] + torch.arange(span + 1)
    windows = ids[rows]
    return windows[:, :-1], windows[:, 1:]


@torch.inference_mode()
def loss_and_accuracy(model: GPT, x: torch.Tensor, y: torch.Tensor, batch: int = EVAL_BATCH) -> tuple[float, float]:
    """Mean cross-entropy of windows x (N, T) predicting y (N, T), and the share of places whose
    most probable next character is y's."""
    total, hits = 0.0, 0
    with evaluating(model):
        for s in range(0, len(x), batch):
            logits = model(x[s:s + batch])  # (B, T, vocab)
            target = y[s:s + batch]
            total += nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="sum").item()
            hits += int((logits.argmax(-1) == target).sum())
    return total / y.numel(), hits / y.numel()


def mean_loss(model: GPT, x: torch.Tensor, y: torch.Tensor, batch: int = EVAL_BATCH) -> float:
    return loss_and_accuracy(model, x, y, batch)[0]


def lr_at(step: int, config: dict) -> float:
    """Linear warm-up to lr, then a cosine down to MIN_LR_SHARE of it at the last step."""
    peak, warmup, steps = config["lr"], config["warmup"], config["steps"]
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (MIN_LR_SHARE + (1 - MIN_LR_SHARE) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def optimizers(model: GPT, lr: float, weight_decay: float) -> list[FusedOptimizer]:
    """AdamW that decays weight matrices and embeddings but not biases and layer norms."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    return [FusedOptimizer(matrices, "adamw", lr, weight_decay=weight_decay, betas=BETAS),
            FusedOptimizer(vectors, "adamw", lr, weight_decay=0.0, betas=BETAS)]


def train_lm(train_text: str, val_text: str, hparams: dict, train: dict, device: str = "auto",
             on_eval: Callable[[EvalPoint], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             sample_prompt: str = "\n") -> LMResult:
    """Train a GPT on train_text; measure on val_text every eval_every steps and at the end."""
    config = check_measurements(SCHEMA.validate(train))
    hp = MODEL_SCHEMA.validate(hparams)
    vocab, train_ids, val_ids = encode_splits(train_text, val_text, hp["context"])
    model = seeded_build(config["seed"], lambda: GPT.from_hparams(hp, len(vocab)))
    limits.check(limits.PARAMS, model.n_params())
    dev = resolve_device(device)
    model.to(dev).train()
    batch_gen = torch.Generator().manual_seed(config["seed"])
    set_dropout_generator(model, torch.Generator(device=dev).manual_seed(config["seed"] + 1))
    ctx = model.context
    train_ids, val_ids = train_ids.to(dev), val_ids.to(dev)
    eval_sets = [fixed_windows(ids, ctx, EVAL_WINDOWS) for ids in (train_ids, val_ids)]
    offsets = torch.arange(ctx + 1, device=dev)
    opts = optimizers(model, config["lr"], config["weight_decay"])
    params = list(model.parameters())
    curve: list[EvalPoint] = []
    seconds, step, stopped = 0.0, 0, False
    prompt = vocab.encode("".join(c for c in sample_prompt if c in vocab.index) or vocab.chars[0])

    def measure() -> None:
        (train_loss, train_acc), (val_loss, val_acc) = (loss_and_accuracy(model, x, y) for x, y in eval_sets)
        point = EvalPoint(step, train_loss, val_loss, seconds, train_acc=train_acc, val_acc=val_acc)
        point.sample = vocab.decode(generate(model, prompt, SAMPLE_CHARS, temperature=1.0,
                                             top_k=0, seed=config["seed"]).ids)
        curve.append(point)
        if on_eval is not None:
            on_eval(point)

    try:
        measure()
        t0 = _clock(dev)
        while step < config["steps"]:
            if should_stop is not None and should_stop():
                stopped = True
                break
            starts = torch.randint(len(train_ids) - ctx - 1, (config["batch_size"],), generator=batch_gen)
            windows = train_ids[starts.to(dev)[:, None] + offsets]
            logits = model(windows[:, :-1])
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), windows[:, 1:].flatten())
            for opt in opts:
                opt.zero_grad()
                opt.lr = lr_at(step, config)
            loss.backward()
            nn.utils.clip_grad_norm_(params, GRAD_CLIP, foreach=True)
            for opt in opts:
                opt.step()
            step += 1
            if step % config["eval_every"] == 0 or step == config["steps"]:
                seconds += _clock(dev) - t0
                measure()
                t0 = _clock(dev)
        seconds += _clock(dev) - t0
        if curve[-1].step != step:  # stopped between measurements
            measure()
        final = [fixed_windows(ids, ctx, FINAL_EVAL_WINDOWS) for ids in (train_ids, val_ids)]
        train_loss, val_loss = (mean_loss(model, x, y) for x, y in final)
    finally:
        set_dropout_generator(model, None)
        model.to("cpu").eval()
    tokens = step * config["batch_size"] * ctx
    return LMResult(model=model, vocab=vocab, curve=curve, steps=step, seconds=seconds,
                    tokens_per_s=tokens / seconds if seconds > 0 else 0.0, train_loss=train_loss,
                    val_loss=val_loss, stopped_by_user=stopped, device=str(dev))


def _clock(device: torch.device) -> float:
    """The time, once the device has done what was queued (a GPU works ahead of Python)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()
