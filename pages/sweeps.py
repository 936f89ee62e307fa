"""Sweeps: a visitor's sweeps, each with its progress, its configs (mean ± std over seeds), charts
of settings against validation accuracy, and its top configs opened in Compare."""

import streamlit as st

from nnapps.ui import state
from nnapps.ui.nav import page_link
from nnapps.ui.sweep_form import get_sweeps
from nnapps.ui.sweep_view import sweep_progress, sweep_results, sweep_title
from nnapps.ui.visitor import visitor

state.init_state()
st.title("Sweeps")

listing = get_sweeps().listing(visitor())
if not listing:
    st.info("No sweeps yet: start one in the Train page's sweep mode, or with `python -m nnapps sweep`.")
    page_link("pages/train.py", "Start a sweep", ":material/model_training:")
    st.stop()

ids = [sweep_id for sweep_id, *_ in listing]
titles = {sweep_id: f"{sweep_title(sweep)} ({sweep_state})" for sweep_id, sweep, sweep_state, _ in listing}
asked = st.query_params.get("sweep") or st.session_state.get(state.SWEEP)
chosen = st.selectbox("Sweep", ids, index=ids.index(asked) if asked in ids else 0, format_func=titles.get)
st.session_state[state.SWEEP] = chosen
st.query_params["sweep"] = chosen

sweep_progress(chosen)
sweep_results(get_sweeps().status(chosen))
