"""The sidebar, written once: the dataset picker every page shares (kept in the URL)."""

import streamlit as st

from ..data import DatasetSpec, dataset_specs
from . import state

DEFAULT_DATASET = "digits"
ORIGIN_NOTES = {"bundled": "ships with a package", "made": "made by nnapps",
                "download": "downloaded once", "upload": "your upload"}


def dataset_picker(modality: str | None = None) -> DatasetSpec:
    """Draw the dataset selectbox in the sidebar and return the chosen spec.

    The value is bound to the URL (?dataset=...) so a link opens the same dataset, and kept
    for the whole session so switching pages keeps the choice.
    """
    specs = {n: s for n, s in dataset_specs().items() if modality is None or s.modality == modality}
    names = list(specs)
    current = st.session_state.get(state.DATASET)
    if current is not None and current not in specs:
        st.sidebar.warning(f"Dataset {current!r} is not known here; showing {DEFAULT_DATASET!r}.")
        st.session_state[state.DATASET] = DEFAULT_DATASET
    name = st.sidebar.selectbox(
        "Dataset", names, index=names.index(DEFAULT_DATASET), key=state.DATASET,
        format_func=lambda n: specs[n].title, bind="query-params", persist_state="session",
        help="Every page works on this dataset. Upload your own on the Data page.")
    spec = specs[name]
    st.sidebar.caption(f"{spec.modality} · {ORIGIN_NOTES[spec.origin]} · {spec.licence}")
    return spec
