"""Training-time estimates on the Train page's button and in the job rows."""

import json

import streamlit as st

from ..estimate import estimate, in_words, time_left
from ..features import make_preprocessor
from ..jobs import Job
from ..models.family import InputInfo
from ..runs import RunConfig
from .services import cached_dataset


@st.cache_data(max_entries=16, show_spinner=False)
def _data_shape(dataset: str, split_seed: int, features: str) -> tuple[dict, int, int, int]:
    """What a model for dataset sees (the fitted preprocessor's input info), the class count and
    the training and validation sizes; features is the JSON of the representation's options."""
    data = cached_dataset(dataset, split_seed)
    pre = make_preprocessor(data.spec.modality, json.loads(features), data.spec.sample_rate).fit(data.X_train)
    return pre.input_info().to_dict(), data.n_classes, len(data.y_train), len(data.y_val)


def train_caption(configs: list[RunConfig]) -> str:
    """'Time on this machine, estimated from a moment of training: ...' for the configs, one
    figure per network ('' when none is a network)."""
    parts = []
    for config in configs:
        info, n_classes, n_train, n_val = _data_shape(config.dataset, config.split_seed,
                                                      json.dumps(config.features, sort_keys=True))
        guess = estimate(config, InputInfo.from_dict(info), n_classes, n_train, n_val)
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
