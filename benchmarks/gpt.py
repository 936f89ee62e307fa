"""GPT benchmark: our training against a nanoGPT-style reference, same corpus, same process.

The reference is the recipe of a well-known minimal GPT trainer as run on a CPU: 4 layers,
4 heads, width 128, context 64, batch 12, AdamW (torch.optim) at 1e-3 with 100 warm-up steps
and a cosine to 1e-4 over 2,000 steps, gradients clipped at 1. Both are measured by the same
evaluator on the same validation windows; time spent measuring is left out of both clocks.
"""

import math
import statistics
import time

import torch
from torch import nn

from nnapps.data import corpora
from nnapps.gpt.runs import SHIPPED, gpt_model, read_checkpoint
from nnapps.gpt.sampling import next_logits, reshape
from nnapps.gpt.train import EVAL_WINDOWS, fixed_windows, mean_loss, train_lm
from nnapps.gpt.train import SCHEMA as LM_SCHEMA
from nnapps.gpt.vocab import CharVocab

REFERENCE = {"n_layers": 4, "n_heads": 4, "width": 128, "context": 64}


class _NanoBlock(nn.Module):
    """nanoGPT's block: pre-norm, fused causal attention, exact GELU, no biases."""

    def __init__(self, width: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width, bias=False), nn.LayerNorm(width, bias=False)
        self.c_attn = nn.Linear(width, 3 * width, bias=False)
        self.c_proj = nn.Linear(width, width, bias=False)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width, bias=False), nn.GELU(),
                                 nn.Linear(4 * width, width, bias=False))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    def __init__(self, vocab_size: int, n_layers: int, n_heads: int, width: int, context: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, width), nn.Embedding(context, width)
        self.blocks = nn.ModuleList(_NanoBlock(width, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(width, bias=False)
        self.lm_head = nn.Linear(width, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layers) if name.endswith(("c_proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe.weight[:ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def reference_loop(train_ids, val_windows, vocab_size: int, steps: int, eval_every: int,
                   seed: int = 0) -> list[tuple[float, float]]:
    """The reference recipe; returns (training seconds, validation loss) at each measurement."""
    torch.manual_seed(seed)
    ctx, batch = REFERENCE["context"], 12
    model = NanoGPT(vocab_size, **REFERENCE)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(seed)
    points, seconds = [], 0.0
    t0 = time.perf_counter()
    for step in range(steps):
        lr = 1e-3 * (step + 1) / 100 if step < 100 else (
            1e-4 + 0.5 * (1 + math.cos(math.pi * (step - 100) / (steps - 100))) * (1e-3 - 1e-4))
        for group in opt.param_groups:
            group["lr"] = lr
        ix = torch.randint(len(train_ids) - ctx - 1, (batch,), generator=gen)
        x = torch.stack([train_ids[i:i + ctx] for i in ix])
        y = torch.stack([train_ids[i + 1:i + 1 + ctx] for i in ix])
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            seconds += time.perf_counter() - t0
            points.append((seconds, mean_loss(model, *val_windows)))
            t0 = time.perf_counter()
    return points


def time_to(points: list[tuple[float, float]], target: float) -> float | None:
    return next((s for s, loss in points if loss <= target), None)


def gpt_training(quick: bool = False) -> dict:
    """Tokens per second and time to the reference's final validation loss, on the built-in corpus."""
    corpus = corpora.builtin()
    train_text, val_text = corpus.split()
    vocab = CharVocab.of(corpus.text)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    val_windows = fixed_windows(val_ids, REFERENCE["context"], EVAL_WINDOWS)
    ref_steps = 200 if quick else 2000
    ref = reference_loop(train_ids, val_windows, len(vocab), ref_steps, eval_every=50 if quick else 250)
    target = ref[-1][1]
    ref_time = time_to(ref, target)  # the reference's first measurement at its final loss
    ours_train = {"steps": 60} if quick else {}
    # On the CPU, as the reference: a lent GPU must not make the comparison.
    ours = train_lm(train_text, val_text, REFERENCE, {**ours_train, "eval_every": 10 if quick else 25},
                    device="cpu")
    ours_points = [(p.seconds, p.val_loss) for p in ours.curve[1:]]
    ours_time = time_to(ours_points, target)
    ref_tokens = ref_steps * 12 * REFERENCE["context"]
    return {
        "corpus": corpus.title, "characters": len(corpus.text),
        "reference": {"recipe": "nanoGPT-style, batch 12, lr 1e-3", "steps": ref_steps,
                      "seconds": ref[-1][0], "seconds_to_final_loss": ref_time, "val_loss": target,
                      "tokens_per_s": ref_tokens / ref[-1][0]},
        "ours": {"steps": ours.steps, "batch_size": LM_SCHEMA.defaults()["batch_size"], "seconds": ours.seconds,
                 "val_loss": ours_points[-1][1], "tokens_per_s": ours.tokens_per_s,
                 "seconds_to_reference_loss": ours_time},
        "time_ratio": None if ours_time is None else ours_time / ref_time,
    }


def next_char_latency(repeats: int = 50) -> dict:
    """Milliseconds to score every next character for a 64-character prompt (shipped model) and
    rank them as the GPT page's table does (the table's drawing is the UI's and not timed)."""
    model, vocab = gpt_model(*read_checkpoint(SHIPPED))
    prompt = corpora.builtin().split()[1][:64]

    def once() -> float:
        t = time.perf_counter()
        logits = next_logits(model, vocab.encode(prompt))
        probs, raw = reshape(logits, 0.8, 20), reshape(logits)
        order = torch.argsort(probs, descending=True, stable=True).tolist()
        [(vocab.chars[i], float(probs[i]), float(raw[i])) for i in order]
        return time.perf_counter() - t

    once()
    times = [once() for _ in range(repeats)]
    return {"prompt_chars": len(prompt), "median_ms": 1000 * statistics.median(times),
            "max_ms": 1000 * max(times)}
