"""GPT benchmark: our training against a nanoGPT-style reference on Tiny Shakespeare.

The reference is the recipe of a well-known minimal GPT trainer as run on a CPU: 4 layers,
4 heads, width 128, context 64, batch 12, AdamW (torch.optim) at 1e-3 with 100 warm-up steps
and a cosine to 1e-4 over 2,000 steps, gradients clipped at 1. Ours is the same model size
with our training defaults. Each trains in its own fresh Python process, which reports its
loss at each measurement, its training time (measuring left out of the clock) and its peak
resident memory; both are measured by the same evaluator on the same validation windows.
"""

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

# Where Tiny Shakespeare is looked for when the app has not downloaded it: NNAPPS_BENCH_TEXT,
# then a shared/data folder beside the checkout. Without it, the built-in corpus stands in.
SHARED_TEXT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tinyshakespeare.txt"
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
    from nnapps.gpt.train import mean_loss
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


def bench_text() -> tuple[str, str]:
    """(title, text) of the benchmark's corpus: Tiny Shakespeare if this machine has it."""
    from nnapps.data import corpora

    paths = [Path(os.environ["NNAPPS_BENCH_TEXT"])] if os.environ.get("NNAPPS_BENCH_TEXT") else []
    for path in paths + [corpora.shakespeare_path(), SHARED_TEXT]:
        if path.is_file():
            return "Tiny Shakespeare", path.read_text(encoding="utf-8")
    corpus = corpora.builtin()
    return corpus.title, corpus.text


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _child() -> None:
    """One side of the benchmark in a fresh process: argv is kind (reference or ours), the
    folder holding train.txt and val.txt, and quick (0 or 1); prints a JSON line."""
    kind, folder, quick = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"
    from nnapps.gpt.train import EVAL_WINDOWS, fixed_windows, train_lm
    from nnapps.gpt.train import SCHEMA as TRAIN_SCHEMA

    train_text, val_text = ((folder / name).read_text(encoding="utf-8") for name in ("train.txt", "val.txt"))
    if kind == "reference":
        from nnapps.gpt.vocab import CharVocab

        vocab = CharVocab.of(train_text + val_text)
        train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
        steps = 200 if quick else 2000
        points = reference_loop(train_ids, fixed_windows(val_ids, REFERENCE["context"], EVAL_WINDOWS),
                                len(vocab), steps, eval_every=50 if quick else 250)
        batch = 12
    else:
        # Our defaults, measured more often than their 100 steps so that the time to a loss
        # is read to within 25 steps. On the CPU, as the reference: a lent GPU must not make
        # the comparison.
        train = {"steps": 60, "eval_every": 10} if quick else {"eval_every": 25}
        result = train_lm(train_text, val_text, REFERENCE, train, device="cpu")
        steps, batch = result.steps, TRAIN_SCHEMA.validate(train)["batch_size"]
        points = [(p.seconds, p.val_loss) for p in result.curve[1:]]
    print(json.dumps({"points": points, "steps": steps, "batch": batch, "peak_rss_mb": _peak_rss_mb()}))


def _run_child(kind: str, folder: str, quick: bool) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    code = f"import {__name__} as bench; bench._child()"
    done = subprocess.run([sys.executable, "-c", code, kind, folder, "1" if quick else "0"],
                          capture_output=True, text=True, env=env, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} GPT training failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
def gpt_training(quick: bool = False) -> dict:
    """Time to the reference's final validation loss and peak memory, ours against the
    reference, each trained in its own fresh process on the same text."""
    from nnapps.data.corpora import Corpus

    title, text = bench_text()
    train_text, val_text = Corpus("bench", title, text, "").split()
    with tempfile.TemporaryDirectory() as folder:
        for name, part in (("train.txt", train_text), ("val.txt", val_text)):
            (Path(folder) / name).write_text(part, encoding="utf-8")
        ref, ours = (_run_child(kind, folder, quick) for kind in ("reference", "ours"))
    target = ref["points"][-1][1]
    ref_time, ours_time = time_to(ref["points"], target), time_to(ours["points"], target)

    def side(run: dict, seconds_to_target: float | None) -> dict:
        seconds = run["points"][-1][0]
        return {"steps": run["steps"], "batch_size": run["batch"], "seconds": seconds,
                "val_loss": run["points"][-1][1], "seconds_to_reference_loss": seconds_to_target,
                "tokens_per_s": run["steps"] * run["batch"] * REFERENCE["context"] / seconds,
                "peak_rss_mb": run["peak_rss_mb"]}

    return {
        "corpus": title, "characters": len(text), "target_val_loss": target,
        "reference": {"recipe": "nanoGPT's CPU recipe, batch 12, lr 1e-3", **side(ref, ref_time)},
        "ours": side(ours, ours_time),
        "time_ratio": None if ours_time is None else ours_time / ref_time,
        "peak_rss_ratio": ours["peak_rss_mb"] / ref["peak_rss_mb"],
    }


def next_char_latency(repeats: int = 50) -> dict:
    """Milliseconds to score every next character for a 64-character prompt (shipped model) and
    rank them as the GPT page's table does (the table's drawing is the UI's and not timed)."""
    from nnapps.data import corpora
    from nnapps.gpt.runs import SHIPPED, gpt_model, read_checkpoint
    from nnapps.gpt.sampling import next_logits, reshape

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
