"""Session-state keys, named once, and their initial values."""

import streamlit as st

from nnapps.ui.nav import ensure_app_navigation
from nnapps.ui.visitor import arrive

DATASET = "dataset"            # the dataset picked in the sidebar (also ?dataset= in the URL)
DATASET_FROM_URL = "dataset_from_url"  # the last ?dataset= value applied, so it applies once
JOBS = "train_jobs"            # ids of the training jobs this session submitted
COMPARE_RUNS = "compare_runs"  # the runs picked on the Compare page (a widget key)
COMPARE_SEEN = "compare_seen_runs"  # run ids the Compare page has shown, to add new ones
TRAIN_SLOTS = "train_slots"    # the architectures set up on the Train page
TRAIN_SEEDS = "train_seeds"    # how many seeds of each architecture the Train page trains (a widget key)
NEXT_SLOT = "next_slot"
SWEEP = "sweep_id"             # the sweep this session started or looks at (also ?sweep= on Sweeps)
TRAIN_MODE = "train_mode"      # the Train page's mode: train some models, or sweep
OWN_INPUT = "own_input"        # {dataset name: the Playground input last sent to Inside}

DEFAULT_SLOTS = ({"id": 1, "family": "mlp"}, {"id": 2, "family": "cnn"})
# What a fresh Train page offers for each modality: a baseline-beating pair to compare.
DEFAULT_FAMILIES = {"image": ("mlp", "cnn"), "text": ("boe", "gru"), "audio": ("pooled-mlp", "cnn")}


def init_state() -> None:
    """Give every key its starting value; called at the top of each page."""
    ensure_app_navigation()
    arrive()
    defaults = {
        JOBS: [],
        TRAIN_SLOTS: [dict(s) for s in DEFAULT_SLOTS],
        NEXT_SLOT: len(DEFAULT_SLOTS) + 1,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value
