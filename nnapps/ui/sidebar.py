"""The sidebar, written once: the dataset picker every page shares (kept in the URL), and a line
saying whether this copy is one person's or public."""

import math

import streamlit as st

from nnapps import limits
from nnapps.data import DatasetSpec, dataset_specs
from nnapps.limits import is_public
from nnapps.store.runs import EVERYONE
from nnapps.ui import state
from nnapps.ui.escape import escape
from nnapps.ui.services import get_store
from nnapps.ui.visitor import visitor

DEFAULT_DATASET = "digits"
ORIGIN_NOTES = {"bundled": "ships with a package", "made": "made by nnapps",
                "download": "downloaded once", "upload": "your upload"}


def visible_specs() -> dict[str, DatasetSpec]:
    """The datasets this visitor may see: every built-in one, their own uploads and everyone's.

    An upload nobody owns was stored from the command line: on a local copy it is its one
    user's, and listed; on a public copy it is nobody's, and listed to nobody.
    """
    specs = dataset_specs()
    owners = get_store().owners_of([name for name, spec in specs.items() if spec.origin == "upload"])
    local = not is_public()
    return {name: spec for name, spec in specs.items()
            if name not in owners or owners[name] & {EVERYONE, visitor()} or (local and not owners[name])}


def dataset_picker(modality: str | None = None) -> DatasetSpec:
    """Draw the dataset selectbox in the sidebar and return the chosen spec.

    The choice is kept for the whole session (switching pages keeps it) and written to the
    URL as ?dataset=NAME, so a copied link opens the same dataset. (Streamlit's own URL
    binding would put the displayed title in the URL, not the name.)
    """
    requested = st.query_params.get(state.DATASET)
    if requested is not None and st.session_state.get(state.DATASET_FROM_URL) != requested:
        linked = dataset_specs().get(requested)
        # Whoever holds a link to an upload may see it; a link cannot name one nobody owns.
        if linked is not None and linked.origin == "upload" and get_store().owners(requested):
            get_store().claim(requested, visitor())
    specs = {n: s for n, s in visible_specs().items() if modality is None or s.modality == modality}
    names = list(specs)
    # Apply a URL value once: afterwards the widget leads and the URL follows it.
    if requested is not None and st.session_state.get(state.DATASET_FROM_URL) != requested:
        st.session_state[state.DATASET_FROM_URL] = requested
        if requested in specs:
            st.session_state[state.DATASET] = requested
        else:
            st.sidebar.warning(escape(f"The link names dataset {requested[:100]!r}, which is not known here; "
                                      f"showing {specs.get(DEFAULT_DATASET, specs[names[0]]).title} instead."))
    if st.session_state.get(state.DATASET) not in specs:
        st.session_state[state.DATASET] = DEFAULT_DATASET if DEFAULT_DATASET in specs else names[0]
    name = st.sidebar.selectbox(
        "Dataset", names, key=state.DATASET, format_func=lambda n: specs[n].title,
        persist_state="session",
        help="Every page works on this dataset. Upload your own on the Data page.")
    st.query_params[state.DATASET] = name
    st.session_state[state.DATASET_FROM_URL] = name
    spec = specs[name]
    st.sidebar.caption(f"{spec.modality} · {ORIGIN_NOTES[spec.origin]} · {spec.licence}")
    st.sidebar.caption(copy_mode_note())
    return spec


def copy_mode_note() -> str:
    """Whether this copy is public (NNAPPS_PUBLIC=1) or one person's, and what that means for
    what it keeps."""
    days = limits.RUN_AGE_DAYS.value()
    removed = "nothing you make is removed" if math.isinf(days) else f"runs unused for {days:g} days are removed"
    if limits.is_public():
        return f"Public copy, shared by its visitors: limits apply and {removed}."
    return f"Local copy: generous limits, and {removed}."
