"""GPT runs in the run store, and the checkpoint that ships with the app.

A GPT run is a Run like any other: its dataset is "corpus:<name>", its classes are the
characters of its vocabulary, and its test-split probabilities are the next-character
distributions at fixed places of the validation text. Its history is by step: one entry per
measurement (history_from_curve). What is particular to a language model (its measurements
with their samples, tokens per second) lives in its metrics; a run stored before GPT runs had a
history gets one from those measurements when read (with_history).
"""

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from nnapps import limits
from nnapps.data import corpora
from nnapps.models import InputInfo
from nnapps.models.gpt import FAMILY, GPT
from nnapps.models.gpt import SCHEMA as MODEL_SCHEMA
from nnapps.store.runs import EVERYONE, Run, RunConfig, RunStore
from nnapps.training.loop import EpochStats, History
from nnapps.gpt.train import SCHEMA as TRAIN_SCHEMA
from nnapps.gpt.train import EvalPoint, LMResult, check_measurements, fixed_windows, train_lm
from nnapps.gpt.vocab import CharVocab

CORPUS_PREFIX = "corpus:"
PROBES = 512  # validation places whose next-character distribution a run stores
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "files" / "gpt-builtin.safetensors"
MAX_CHECKPOINT_BYTES = 5 * 2**20


def gpt_config(corpus: str, hparams: dict | None = None, train: dict | None = None,
               check_limits: bool = True) -> RunConfig:
    """A validated config for a GPT on the named corpus (builtin, shakespeare, user-<hash>).

    check_limits=False names a run that may exist already (a link to it): the limits are for
    what a copy will train, and train_gpt_run checks them again.
    """
    if not corpora.is_corpus_name(corpus):
        raise ValueError(f"unknown corpus {corpus!r}: builtin, shakespeare, or user-<12 hex digits>")
    train = check_measurements(TRAIN_SCHEMA.validate(train or {}))
    if check_limits:
        limits.check(limits.GPT_STEPS, train["steps"])
    return RunConfig(dataset=CORPUS_PREFIX + corpus, family=FAMILY.name,
                     hparams=MODEL_SCHEMA.validate(hparams or {}), train=train)


def corpus_name(config: RunConfig) -> str:
    if config.family != FAMILY.name or not config.dataset.startswith(CORPUS_PREFIX):
        raise ValueError(f"{config.label()} on {config.dataset} is not a GPT run")
    return config.dataset[len(CORPUS_PREFIX):]


def train_gpt_run(config: RunConfig, store: RunStore | None, corpus: corpora.Corpus | None = None,
                  on_eval: Callable[[EvalPoint], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, device: str = "auto",
                  owner: str = EVERYONE) -> Run:
    """Train config on its corpus and keep the run in store (when given) as owner's."""
    run, weights = fit_gpt_run(config, corpus, on_eval, should_stop, device)
    if store is not None:
        store.put(run, weights, owner)
    return run


def fit_gpt_run(config: RunConfig, corpus: corpora.Corpus | None = None,
                on_eval: Callable[[EvalPoint], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                device: str = "auto") -> tuple[Run, dict[str, torch.Tensor]]:
    """Train config on its corpus into a Run and its weights, without storing them (a worker's part)."""
    limits.check(limits.GPT_STEPS, config.train["steps"])
    corpus = corpus or corpora.load(corpus_name(config))
    train_text, val_text = corpus.split()
    result = train_lm(train_text, val_text, config.hparams, config.train, device=device,
                      on_eval=on_eval, should_stop=should_stop)
    return _as_run(config, corpus, result, val_text), FAMILY.export_weights(result.model)


def _as_run(config: RunConfig, corpus: corpora.Corpus, result: LMResult, val_text: str) -> Run:
    model, vocab = result.model, result.vocab
    proba, y_last = probe_proba(model, vocab.encode(val_text))
    metrics = {"train_loss": result.train_loss, "val_loss": result.val_loss, "steps": result.steps,
               "tokens_per_s": result.tokens_per_s, "train_seconds": result.seconds,
               "params": model.n_params(), "accuracy": float((proba.argmax(1) == y_last).mean()),
               "curve": [asdict(p) for p in result.curve]}
    return Run(config=config, status="stopped" if result.stopped_by_user else "complete",
               history=history_from_curve(result.curve, result.device, result.stopped_by_user),
               metrics=metrics, class_names=list(vocab.chars),
               input_info=InputInfo(shape=(model.context,), vocab_size=len(vocab)),
               preprocessor={"corpus": corpus.name, "title": corpus.title, "chars": len(corpus.text),
                             "prompt": corpus.prompt},
               test_proba=proba, y_test=y_last)


def probe_proba(model: GPT, val_ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The next-character distributions (PROBES, vocab) at fixed places of the validation ids,
    and the characters that follow there (PROBES,): a GPT run's test probabilities and labels."""
    x, y = fixed_windows(val_ids, model.context, PROBES)
    with torch.inference_mode():
        proba = torch.softmax(model(x)[:, -1], -1).numpy()
    return proba, y[:, -1].numpy()


def history_from_curve(points: list[EvalPoint], device: str = "cpu", stopped_by_user: bool = False) -> History:
    """A GPT's measurements as a History by step: each entry's seconds are the training time
    since the measurement before. The weights kept are the last step's, so best_epoch is it."""
    epochs, before = [], 0.0
    for p in points:
        epochs.append(EpochStats(epoch=p.step, train_loss=p.train_loss, train_acc=p.train_acc,
                                 val_loss=p.val_loss, val_acc=p.val_acc, seconds=p.seconds - before))
        before = p.seconds
    return History(epochs=epochs, best_epoch=epochs[-1].epoch if epochs else 0,
                   stopped_by_user=stopped_by_user, device=device, unit="step")


def with_history(run: Run) -> Run:
    """run, with a history by step made from its measurements when it was stored without one."""
    if not run.history.epochs and run.metrics.get("curve"):
        run.history = history_from_curve([EvalPoint(**p) for p in run.metrics["curve"]], run.history.device,
                                         run.status == "stopped")
    return run


def gpt_model(run: Run, weights: dict[str, torch.Tensor]) -> tuple[GPT, CharVocab]:
    """The run's model with weights loaded, ready to score, and its vocabulary; ValueError
    when the weights do not fit the run's settings."""
    model = FAMILY.make(run.config.hparams, run.input_info, run.input_info.vocab_size)
    return FAMILY.import_weights(model, weights), CharVocab(tuple(run.class_names))


def load_gpt(store: RunStore, run: Run) -> tuple[GPT, CharVocab]:
    """A stored run's model and vocabulary."""
    return gpt_model(run, store.load_weights(run.run_id))


def gpt_runs(store: RunStore, visitor: str | None = None) -> list[Run]:
    """The stored GPT runs visitor may see (every one for None), newest first."""
    return [with_history(r) for r in store.list_runs(family=FAMILY.name, visitor=visitor)[::-1]]


def export_checkpoint(store: RunStore, run: Run, path: Path) -> Path:
    """One safetensors file holding the run: weights and stored probabilities as tensors, the
    rest as JSON in the header. ensure_shipped reads it back."""
    tensors = {f"weights.{k}": v.contiguous() for k, v in store.load_weights(run.run_id).items()}
    tensors["results.test_proba"] = torch.from_numpy(np.ascontiguousarray(run.test_proba))
    tensors["results.y_test"] = torch.from_numpy(np.ascontiguousarray(run.y_test))
    header = {"config": run.config.to_dict(), "metrics": run.metrics, "history": run.history.to_dict(),
              "class_names": run.class_names,
              "input_info": run.input_info.to_dict(), "preprocessor": run.preprocessor,
              "status": run.status, "created": run.created}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    if size > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{run.label} takes {size / 2**20:.1f} MB; a checkpoint holds at most "
                         f"{MAX_CHECKPOINT_BYTES / 2**20:.0f} MB (fewer layers or a smaller width)")
    path = Path(path)
    save_file(tensors, str(path), metadata={"nnapps.run": json.dumps(header)})
    return path


def _config(header: dict) -> RunConfig:
    """The header's config, checked as gpt_config checks one, with the code version it was made by."""
    stored = RunConfig.from_dict(header["config"])
    clean = gpt_config(corpus_name(stored), stored.hparams, stored.train, check_limits=False)
    return RunConfig(**{**asdict(clean), "code_version": stored.code_version})


def read_checkpoint(path: Path, header_only: bool = False) -> tuple[Run | RunConfig, dict[str, torch.Tensor]]:
    """A checkpoint written by export_checkpoint, checked: its size, header and weights.

    With header_only, its config and no tensors (cheap: the header is read alone).
    """
    path = Path(path)
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; a GPT checkpoint "
                         f"holds at most {MAX_CHECKPOINT_BYTES / 2**20:.0f} MB")
    with safe_open(str(path), "pt") as f:
        header = json.loads((f.metadata() or {}).get("nnapps.run") or "null")
        if not isinstance(header, dict):
            raise ValueError(f"{path.name} is not an nnapps GPT checkpoint (no run in its header)")
        config = _config(header)
        if header_only:
            return config, {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    # A checkpoint written before GPT runs had a history (the shipped one) has its measurements.
    history = History.from_dict(header["history"]) if "history" in header else History()
    run = Run(config=config, status=header["status"], history=history, metrics=header["metrics"],
              class_names=list(header["class_names"]),
              input_info=InputInfo.from_dict(header["input_info"]),
              preprocessor=header["preprocessor"], test_proba=tensors["results.test_proba"].numpy(),
              y_test=tensors["results.y_test"].numpy(), created=float(header.get("created", time.time())))
    weights = {k[len("weights."):]: v for k, v in tensors.items() if k.startswith("weights.")}
    with_history(run)
    gpt_model(run, weights)  # raises when the weights do not fit the header's settings
    return run, weights


def ensure_shipped(store: RunStore, path: Path = SHIPPED) -> Run:
    """The shipped GPT run, put into store the first time it is asked for."""
    config, _ = read_checkpoint(path, header_only=True)
    stored = store.get(config.run_id)
    if stored is not None:
        return stored
    run, weights = read_checkpoint(path)
    store.put(run, weights)
    return run
