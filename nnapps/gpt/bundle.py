"""A GPT's part of a bundle import: its config, vocabulary, metrics and measurements, and its
next-character probabilities recomputed from its text here.

nnapps.store.bundles looks this module up by the family's task; nnapps.store.classifier_bundle
has the same functions for a classifier.
"""

import numpy as np

from nnapps.data import DatasetUnavailable, corpora
from nnapps.gpt.runs import corpus_name, gpt_config, probe_proba
from nnapps.gpt.train import EvalPoint
from nnapps.gpt.vocab import CharVocab
from nnapps.models import InputInfo, ModelFamily
from nnapps.store.bundle_checks import BundleError, not_downloaded, number
from nnapps.store.runs import Run, RunConfig

NUMBERS = ("train_loss", "val_loss", "steps", "tokens_per_s", "train_seconds", "params")
MAX_MEASUREMENTS = 10_000


def clean_config(raw: dict, family: ModelFamily) -> RunConfig:
    # Importing trains nothing: this copy's training limits do not apply.
    return gpt_config(corpus_name(RunConfig(**raw)), raw["hparams"], raw["train"], check_limits=False)


def check_inputs(preprocessor: dict, input_info: InputInfo) -> None:
    """Nothing to rebuild: a GPT's "preprocessor" only names its corpus, its vocabulary is its
    classes (checked by data_here)."""


def metrics(metrics: dict, y: np.ndarray, proba: np.ndarray) -> dict:
    """The numbers checked, the measurements (with their samples) parsed, the next-character
    accuracy recomputed from the probabilities."""
    out = {k: number(metrics, k) for k in NUMBERS}
    curve = metrics.get("curve")
    if not isinstance(curve, list) or not curve or len(curve) > MAX_MEASUREMENTS:
        raise BundleError("metrics.json: a GPT's curve must be a list of its measurements")
    try:
        out["curve"] = [{**EvalPoint(**p).__dict__} for p in curve]
    except TypeError as exc:
        raise BundleError(f"metrics.json: a measurement of the curve is malformed: {exc}") from None
    out["accuracy"] = float((proba.argmax(1) == y).mean()) if len(y) else 0.0
    return out


def data_here(config: RunConfig, class_names: list[str], input_info: InputInfo, preprocessor: dict,
              y: np.ndarray):
    """The run's text on this copy; or why this copy cannot check the run against it."""
    if input_info.vocab_size != len(class_names) or len(class_names) > corpora.MAX_DISTINCT:
        raise BundleError("run.json: a GPT's vocabulary must be its classes, at most "
                          f"{corpora.MAX_DISTINCT} characters")
    if not input_info.shape or input_info.shape[0] != config.hparams["context"]:
        raise BundleError("run.json: a GPT's input shape must be its context")
    name = corpus_name(config)
    if name == "shakespeare" and not corpora.shakespeare_path().exists():
        raise BundleError(not_downloaded("Tiny Shakespeare", "the GPT page"))
    if name not in ("builtin", "shakespeare") and not corpora.user_path(name).exists():
        return f"its text ({name}) is not on this copy"
    try:
        return corpora.load(name)
    except DatasetUnavailable as exc:
        return f"its text cannot be read here: {exc}"


def recompute_proba(run: Run, model, corpus: corpora.Corpus) -> np.ndarray:
    """(PROBES, vocab) next-character probabilities at the fixed places of the text's validation split."""
    try:
        ids = CharVocab(tuple(run.class_names)).encode(corpus.split()[1])
    except ValueError as exc:
        raise BundleError(f"the GPT's vocabulary is not its text's here: {exc}") from None
    proba, y = probe_proba(model, ids)
    if not np.array_equal(y, run.y_test):
        raise BundleError("the GPT's test places are not its text's here")
    return proba
