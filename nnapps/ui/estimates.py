"""Training-time estimates on the Train page's button and in the job rows."""

import json

import streamlit as st

from nnapps.training.estimate import estimate, in_words, time_left
from nnapps.features import make_preprocessor
from nnapps.execution.jobs import Job
from nnapps.models.family import InputInfo
from nnapps.store.runs import RunConfig
from nnapps.training.loop import TensorData
from nnapps.ui.services import cached_dataset


CALIBRATION_ITEMS = 1024   # real training items kept for calibration (cycled when fewer)


@st.cache_data(max_entries=8, show_spinner=False)
def _data_shape(dataset: str, split_seed: int, features: str) -> tuple[InputInfo, int, TensorData, int, int]:
    """What a model for dataset sees (the fitted preprocessor's input info), the class count,
    the first training items as the model takes them, and the training and validation sizes;
    features is the JSON of the representation's options."""
    data = cached_dataset(dataset, split_seed)
    pre = make_preprocessor(data.spec.modality, json.loads(features), data.spec.sample_rate).fit(data.X_train)
    sample = TensorData.from_numpy(pre.transform(data.X_train[:CALIBRATION_ITEMS]), data.y_train[:CALIBRATION_ITEMS],
                                   pre.transform(data.X_train[:0]), data.y_train[:0])
    return pre.input_info(), data.n_classes, sample, len(data.y_train), len(data.y_val)


def train_caption(configs: list[RunConfig]) -> str:
    """'Time on this machine, estimated from a moment of training: ...' for the configs, one
    figure per network ('' when none is a network)."""
    parts = []
    for config in configs:
        inputs, n_classes, sample, n_train, n_val = _data_shape(config.dataset, config.split_seed,
                                                                json.dumps(config.features, sort_keys=True))
        guess = estimate(config, inputs, n_classes, sample.X_train, sample.y_train, n_train, n_val)
        if guess is not None:
            parts.append(f"{config.label()} {in_words(guess.seconds)} ({guess.n_params:,} parameters, "
                         f"{n_train:,} examples x {guess.epochs} epochs)")
    if not parts:
        return ""
    return ("Time on this machine, estimated from a moment of training each network: " + "; ".join(parts)
            + ". Early stopping may end a training sooner; more at once share the processor.")


def job_time_left(job: Job) -> str:
    """' · about 20 s left' for a training with finished epochs, from its own pace; else ''."""
    if job.state != "running" or not job.epochs or not job.total_epochs:
        return ""
    left = time_left([e.seconds for e in job.epochs], job.total_epochs)
    return f" · {in_words(left)} left" if left > 0 else ""
