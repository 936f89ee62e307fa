"""A training's CPU threads are decided once, by the process or the executor that owns them.

torch's thread count is one setting per process (each OS thread keeps a copy, taken from the
last one set when it starts). fit() used to set it for each training and restore the count it
had read at import, so two trainings in one process, or a worker that had chosen its own count,
undid each other's setting.
"""

import dataclasses
import threading

import numpy as np
import pytest
import torch

from nnapps.execution import Training
from nnapps.execution.threads import ThreadBackend
from nnapps.models import InputInfo
from nnapps.training.pipeline import build_model
from nnapps.store.runs import RunConfig
from nnapps.training.loop import TrainConfig, fit

CNN = RunConfig.make("digits", "cnn", {"channels": 16}, {"epochs": 1, "patience": 0})
MLP = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1, "patience": 0})


@pytest.fixture
def threads_now():
    """torch's count is restored after the test, whatever the test set."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def fit_config(config: RunConfig, data, **kwargs) -> list[int]:
    """Train config's model on data; the thread counts torch had at each epoch's end."""
    model = build_model(config, InputInfo((1, 8, 8)), 10)
    seen = []
    train = dataclasses.replace(TrainConfig.from_dict(config.train), device="cpu")
    fit(model, data, train, on_epoch=lambda s: seen.append(torch.get_num_threads()), **kwargs)
    return seen


def test_fit_without_threads_leaves_the_setting_alone(digits_tensors, threads_now):
    torch.set_num_threads(1)  # chosen by whoever owns the process, after nnapps was imported
    assert fit_config(MLP, digits_tensors) == [1]
    assert torch.get_num_threads() == 1  # not the count read at import


def test_fit_given_threads_uses_as_many_as_pay_off_and_leaves_them_set(digits_tensors, threads_now):
    torch.set_num_threads(1)
    assert fit_config(MLP, digits_tensors, threads=2) == [1]  # a tiny model: one thread is quicker
    assert torch.get_num_threads() == 1
    big = dataclasses.replace(CNN, hparams={**CNN.hparams, "channels": 64})
    assert fit_config(big, digits_tensors, threads=2) == [2]
    assert torch.get_num_threads() == 2  # left for the process's next training to set again


def seen_threads(backend: ThreadBackend, config: RunConfig) -> list[int]:
    """The thread count at each epoch's end of config trained through backend."""
    seen = []
    backend.execute(Training(config), lambda p: seen.append(torch.get_num_threads())
                    if not isinstance(p, str) else None, lambda: False)
    return seen


def test_one_slot_of_the_thread_backend_lets_each_training_choose(threads_now):
    backend = ThreadBackend(slots=1)
    assert seen_threads(backend, MLP) == [1]  # a tiny model: one thread is quicker
    big = dataclasses.replace(CNN, hparams={**CNN.hparams, "channels": 64})
    assert seen_threads(backend, big) == [backend.threads]
    assert seen_threads(backend, MLP) == [1]


def test_trainings_side_by_side_in_the_thread_backend_keep_its_one_count(threads_now):
    """A small MLP and a CNN at once: each reads the backend's count at every epoch, and the
    MLP's preference for one thread never reaches the CNN's thread (or back)."""
    backend = ThreadBackend(slots=2)
    seen: dict[str, list[int]] = {"mlp": [], "cnn": []}
    errors = []

    def train(name: str, config: RunConfig) -> None:
        config = dataclasses.replace(config, train={**config.train, "epochs": 3})
        try:
            backend.execute(Training(config), lambda p: seen[name].append(torch.get_num_threads())
                            if not isinstance(p, str) else None, lambda: False)
        except Exception as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=train, args=item) for item in (("mlp", MLP), ("cnn", CNN))]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert not errors
    assert seen == {"mlp": [backend.threads] * 3, "cnn": [backend.threads] * 3}


def test_an_idle_thread_backend_lets_the_trainings_spectrograms_go():
    from nnapps.features import audio

    clips = np.random.default_rng(0).normal(size=(3, 800)).astype(np.float32)
    first = audio.log_mel(clips, 8000, 25.0, 16.0, 16)
    assert audio.log_mel(clips, 8000, 25.0, 16.0, 16) is first  # cached while trainings run
    backend = ThreadBackend(slots=1, idle_seconds=0.0)
    backend.tidy()
    again = audio.log_mel(clips, 8000, 25.0, 16.0, 16)
    assert again is not first
    np.testing.assert_array_equal(again, first)
