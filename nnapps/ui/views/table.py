"""Compare's table of test samples with every model's prediction, for modalities whose sample
fits in a table cell (an image's thumbnail, a text's words)."""

from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from nnapps.analysis.evaluation import shown_rows

MAX_TABLE_ROWS = 500


def rows_caption(n_shown: int) -> str:
    """How the table lists and picks samples, for Compare's caption of n_shown samples."""
    return (f"; the first {MAX_TABLE_ROWS} are listed" if n_shown > MAX_TABLE_ROWS else "") + ". Click a row"


def probability_dataframe(shown: pd.DataFrame, X: np.ndarray, run_names: list[str],
                          lead: Callable[[list[Any]], tuple[pd.DataFrame, dict]]) -> int:
    """The table of test samples (the first MAX_TABLE_ROWS of shown) with every model's
    prediction; lead gives the column that draws the samples themselves and its config.
    Returns the clicked sample (the first row's until one is clicked)."""
    rows = shown_rows(shown.head(MAX_TABLE_ROWS), run_names)
    view, column_config = lead([X[i] for i in rows["#"]])
    view = pd.concat([view, rows[["#", "true"] + [c for n in run_names for c in (n, f"{n} p")]]], axis=1)
    column_config["#"] = st.column_config.NumberColumn("#", help="index in the test split")
    for n in run_names:
        column_config[n] = st.column_config.TextColumn(n, help=f"{n}: its prediction (✓ right, ✗ wrong)")
        column_config[f"{n} p"] = st.column_config.ProgressColumn(
            "p", format="percent", min_value=0, max_value=1, help=f"{n}: probability of its prediction")
    event = st.dataframe(view, hide_index=True, width="stretch", column_config=column_config, row_height=44,
                         on_select="rerun", selection_mode="single-row", key="prob_table")

    selected_rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    row = int(selected_rows[0]) if selected_rows else 0
    return int(rows["#"].iloc[row])
