"""Process-wide services for the pages: the run store, the training queue, cached datasets."""

import numpy as np
import streamlit as st
from safetensors import SafetensorError

from nnapps import limits
from nnapps.data import Dataset, get_spec, load_dataset
from nnapps.execution import make_backend
from nnapps.execution.jobs import JobQueue
from nnapps.training.pipeline import Predictor
from nnapps.store.runs import Run, RunStore


@st.cache_resource
def get_store() -> RunStore:
    """The run store; it only holds a path, so every session may share it."""
    return RunStore()


# Released (a cleared cache, a test's teardown): its workers end rather than linger.
@st.cache_resource(on_release=lambda queue: queue.close())
def get_queue() -> JobQueue:
    """The one training queue of this server process, on the executor NNAPPS_EXECUTOR names.

    It is shared on purpose (it is how two tabs' trainings are limited to the cores the
    machine has); its state is guarded by its own lock and pages only read snapshots of it.
    """
    # A root-level Streamlit secret reaches the settings too: Streamlit puts those into the
    # environment when the server starts.
    slots = max(int(limits.TRAININGS.value()), 1)
    # Trainings in this server's threads read the pages' read-only copy of a dataset.
    return JobQueue(get_store(), max_running=slots, backend=make_backend(slots=slots, load=cached_dataset))


# A resource, not cache_data: cache_data would keep a pickled copy and hand every rerun a fresh
# unpickled one, two copies of 100 MB of sound where one will do. The arrays are made read-only
# instead, so no page can change what every session shares.
@st.cache_resource(max_entries=3, show_spinner=False)
def _splits(name: str, seed: int) -> tuple[list[str], dict[str, np.ndarray]]:
    ds = load_dataset(name, seed)
    arrays = {f"{k}_{s}": getattr(ds, f"{k}_{s}") for k in ("X", "y") for s in ("train", "val", "test")}
    for array in arrays.values():
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return list(ds.class_names), arrays


def cached_dataset(name: str, seed: int = 0) -> Dataset:
    """A dataset's splits, loaded once per (name, seed) and shared read-only by the pages."""
    class_names, arrays = _splits(name, seed)
    return Dataset(spec=get_spec(name), seed=seed, class_names=class_names, **arrays)


@st.cache_resource(show_spinner=False)
def shipped_gpt() -> str:
    """The pretrained GPT's run id, put into the store once per process."""
    from nnapps.gpt.runs import ensure_shipped
    return ensure_shipped(get_store()).run_id


@st.cache_resource(max_entries=8, show_spinner=False)
def get_gpt(run_id: str, created: float):
    """A GPT run's model and vocabulary, loaded once and shared read-only by sessions.

    created is part of the key: a stopped run trained again keeps its id but not its weights."""
    from nnapps.gpt.runs import load_gpt
    return load_gpt(get_store(), _stored(run_id))


@st.cache_resource(max_entries=16, show_spinner=False)
def get_predictor(run_id: str) -> Predictor:
    """A run's trained model for inference, loaded once and shared read-only by sessions."""
    return Predictor(_stored(run_id), get_store())


def _stored(run_id: str) -> Run:
    run = get_store().get(run_id)
    if run is None:
        raise ValueError(f"no stored run {run_id!r}")
    return run


# What loading a stored run can raise when its files are missing, damaged or were written by
# code whose layers have since changed: the page names the run and goes on without it.
LOAD_ERRORS = (ValueError, OSError, RuntimeError, KeyError, SafetensorError)


def load_predictors(run_ids: list[str], names: dict[str, str]) -> tuple[dict[str, Predictor], list[str]]:
    """The loadable runs' predictors by name, and a message for each run that could not load."""
    predictors, problems = {}, []
    for run_id in run_ids:
        try:
            predictors[names[run_id]] = get_predictor(run_id)
        except LOAD_ERRORS as exc:
            problems.append(f"{names[run_id]} could not be loaded (retrain it): {str(exc).splitlines()[0]}")
    return predictors, problems
