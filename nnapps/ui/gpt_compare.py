"""GPT runs side by side: their loss by step overlaid on the shared curves chart, and a table."""

import pandas as pd
import streamlit as st

from nnapps.charts.results import curves_chart
from nnapps.store.runs import Run
from nnapps.ui.charts_out import show_chart
from nnapps.ui.gpt_training import corpus_title
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_runs

PICKED = "gpt_compare_runs"  # the run ids chosen (a widget key)


def gpt_looks(runs: list[Run]) -> RunLooks:
    """Each run's colour as on every page, and a name that says its text too."""
    looks = RunLooks.of(runs)
    return RunLooks({r.run_id: f"{looks.labels[r.run_id]} · {corpus_title(r)}" for r in runs}, looks.colours)


def compare_gpt_runs(runs: list[Run]) -> None:
    """A multiselect of runs (the newest two to start) and their validation (solid) and training
    (dashed) loss by step, one colour per run."""
    if len(runs) < 2:
        st.info("Train a second model under *Train your own* to compare the two here.")
        return
    by_id, looks = {r.run_id: r for r in runs}, gpt_looks(runs)
    # Set here, not as the widget's default: runs deleted since they were chosen leave the choice.
    st.session_state[PICKED] = [i for i in st.session_state.get(PICKED, list(by_id)[:2]) if i in by_id]
    chosen = pick_runs("Models", list(by_id), looks, key=PICKED)
    if not chosen:
        st.info("Choose models to compare.")
        return
    picked = [by_id[i] for i in chosen]
    st.markdown("Loss is cross-entropy in nats per character, measured on the same fixed windows of "
                "each model's text at every measurement: lower is better, and validation (solid) "
                "above training (dashed) shows how much a model learned its training text by heart.")
    show_chart(curves_chart({looks.labels[r.run_id]: r.history.epochs for r in picked}, "loss", unit="step",
                            colours=looks.by_label(chosen)),
               "gpt-compare-loss", width="stretch")
    st.dataframe(pd.DataFrame([{
        "model": looks.labels[r.run_id], "steps": r.metrics["steps"], "parameters": r.metrics["params"],
        "validation loss": r.metrics["val_loss"], "training loss": r.metrics["train_loss"],
        "next character right": r.metrics["accuracy"], "seconds": r.metrics["train_seconds"],
    } for r in picked]), hide_index=True, width="stretch", column_config={
        "validation loss": st.column_config.NumberColumn(format="%.3f"),
        "training loss": st.column_config.NumberColumn(format="%.3f"),
        "next character right": st.column_config.NumberColumn(format="percent"),
        "seconds": st.column_config.NumberColumn(format="%.0f"),
    })
