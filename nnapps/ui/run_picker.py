"""The one run picker of every page: the same labels and, beneath it, each chosen run's colour,
the colour its lines and bars have in every chart."""

import streamlit as st

from nnapps.ui.escape import escape
from nnapps.ui.run_labels import RunLooks


def swatches(run_ids, looks: RunLooks, container=st) -> None:
    """A caption naming each run beside a square of its colour (the colour key of the page)."""
    if run_ids:
        container.caption(" &nbsp; ".join(f'<span style="color:{looks.colours[i]}">■</span> {escape(looks.labels[i])}'
                                           for i in run_ids), unsafe_allow_html=True)


def pick_runs(label: str, run_ids: list[str], looks: RunLooks, key: str, default=None, container=st,
              **kwargs) -> list[str]:
    """A multiselect of runs by their labels, and their colours beneath; returns the chosen ids.
    kwargs go to st.multiselect (help, max_selections, persist_state)."""
    chosen = container.multiselect(label, run_ids, default=default, format_func=looks.labels.__getitem__,
                                   key=key, **kwargs)
    swatches(chosen, looks, container)
    return chosen


def pick_run(label: str, run_ids: list[str], looks: RunLooks, key: str, container=st, **kwargs) -> str:
    """A selectbox of runs by their labels, and the chosen one's colour beneath; returns its id."""
    chosen = container.selectbox(label, run_ids, format_func=looks.labels.__getitem__, key=key, **kwargs)
    swatches([chosen], looks, container)
    return chosen
