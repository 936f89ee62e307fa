"""GPT runs side by side: their loss by step overlaid on the shared curves chart, and a table."""

import pandas as pd
import streamlit as st

from nnapps.charts.results import curves_chart
from nnapps.store.runs import Run
from nnapps.ui.charts_out import show_chart
from nnapps.ui.gpt_training import corpus_title
from nnapps.ui.run_labels import unique_labels

PICKED = "gpt_compare_runs"  # the run ids chosen (a widget key)


def gpt_labels(runs: list[Run]) -> dict[str, str]:
    """run_id -> a legend's name: the run's label and its text, told apart where two read the same."""
    labels = unique_labels(runs)
    return {r.run_id: f"{labels[r.run_id]} · {corpus_title(r)}" for r in runs}


def compare_gpt_runs(runs: list[Run]) -> None:
    """A multiselect of runs (the newest two to start) and their validation (solid) and training
    (dashed) loss by step, one colour per run."""
    if len(runs) < 2:
        st.info("Train a second model under *Train your own* to compare the two here.")
        return
    by_id, labels = {r.run_id: r for r in runs}, gpt_labels(runs)
    # Set here, not as the widget's default: runs deleted since they were chosen leave the choice.
    st.session_state[PICKED] = [i for i in st.session_state.get(PICKED, list(by_id)[:2]) if i in by_id]
    chosen = st.multiselect("Models", list(by_id), key=PICKED, format_func=labels.__getitem__)
    if not chosen:
        st.info("Choose models to compare.")
        return
    picked = [by_id[i] for i in chosen]
    st.markdown("Loss is cross-entropy in nats per character, measured on the same fixed windows of "
                "each model's text at every measurement: lower is better, and validation (solid) "
                "above training (dashed) shows how much a model learned its training text by heart.")
    show_chart(curves_chart({labels[r.run_id]: r.history.epochs for r in picked}, "loss", unit="step"),
               "gpt-compare-loss", width="stretch")
    st.dataframe(pd.DataFrame([{
        "model": labels[r.run_id], "steps": r.metrics["steps"], "parameters": r.metrics["params"],
        "validation loss": r.metrics["val_loss"], "training loss": r.metrics["train_loss"],
        "next character right": r.metrics["accuracy"], "seconds": r.metrics["train_seconds"],
    } for r in picked]), hide_index=True, width="stretch", column_config={
        "validation loss": st.column_config.NumberColumn(format="%.3f"),
        "training loss": st.column_config.NumberColumn(format="%.3f"),
        "next character right": st.column_config.NumberColumn(format="percent"),
        "seconds": st.column_config.NumberColumn(format="%.0f"),
    })
