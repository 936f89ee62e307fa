"""Sections of the Compare page that answer "which is better, where, and is it real": metrics over
seeds, the paired verdict, confusion matrices and an agreement map whose clicks filter the
sample table, and the samples each run forgot."""

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from nnapps.charts import results as charts

from nnapps.charts import compare as compare_charts
from nnapps.analysis.agreement import OUTCOMES, embed_2d, outcomes, sample_ids
from nnapps.analysis.calibration import expected_calibration_error
from nnapps.analysis.comparison import SeedGroup, cell_samples, paired_verdict
from nnapps.analysis.epochs import forgetting
from nnapps.store.runs import Run
from nnapps.ui import compare_view as view
from nnapps.ui.charts_out import show_chart
from nnapps.ui.escape import escape
from nnapps.ui.services import cached_dataset, get_store
from nnapps.ui.views import view_for

MATRICES_PER_ROW = 3
MATRIX_SIZE = 250  # pixels: three matrices side by side in the page's width
# Streamlit's theme measures a chart with a legend below it too short: room for the title, the
# class names on the axis and the colour legend.
LEGEND_ROOM = 200


def group_label(group: SeedGroup, labels: dict[str, str]) -> str:
    """A group's name: its run's unique label for one seed, the config and seed count for several."""
    return labels[group.runs[0].run_id] if len(group.runs) == 1 else group.label()


def metrics_table(groups: list[SeedGroup], labels: dict[str, str], each_seed: bool) -> None:
    """One row per config (mean over its seeds, with the accuracy's spread), or per run."""
    rows = []
    for group in groups:
        members = [SeedGroup(group.config_id, [r]) for r in group.runs] if each_seed else [group]
        for g in members:
            ece = [expected_calibration_error(r.y_test, r.test_proba) for r in g.runs]
            rows.append({
                "run": group_label(g, labels), "seeds": len(g.runs),
                "accuracy": g.spread("accuracy")[0],
                "± std": f"{g.spread('accuracy')[1]:.2%}" if len(g.runs) > 1 else "",
                "macro F1": g.spread("macro_f1")[0], "log loss": g.spread("log_loss")[0],
                "ECE": float(np.mean(ece)), "parameters": g.runs[0].metrics["params"],
                "train s": g.spread("train_seconds")[0], "ms / sample": g.spread("infer_ms_per_sample")[0],
                "epochs": g.spread("epochs_run")[0],
                "status": "complete" if all(r.status == "complete" for r in g.runs) else "stopped",
                "id": g.runs[0].run_id if len(g.runs) == 1 else g.config_id,
            })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "seeds": st.column_config.NumberColumn(help="runs of this config that differ only in the seed; "
                                               "the numbers are their mean"),
        "accuracy": st.column_config.ProgressColumn("accuracy", format="percent", min_value=0, max_value=1),
        "± std": st.column_config.TextColumn(help="standard deviation of the accuracy over seeds"),
        "macro F1": st.column_config.NumberColumn(format="%.3f"),
        "log loss": st.column_config.NumberColumn(format="%.3f", help="mean -log p(true class); lower is better"),
        "ECE": st.column_config.NumberColumn(format="%.3f", help="expected calibration error: how far its "
                                             "confidence is from its accuracy, on average (0 is perfect)"),
        "parameters": st.column_config.NumberColumn(format="localized"),
        "train s": st.column_config.NumberColumn(format="%.2f"),
        "ms / sample": st.column_config.NumberColumn(format="%.4f", help="inference time per test sample"),
        "epochs": st.column_config.NumberColumn(format="%g"),
    })


@st.cache_data(max_entries=32, show_spinner=False)
def _verdict(ids_a: tuple, ids_b: tuple, label_a: str, label_b: str):
    """The verdict of two stored groups, by (run id, created) (a bootstrap is worth keeping
    across reruns; a run trained again has another date)."""
    store = get_store()
    runs_a, runs_b = [store.get(i) for i, _ in ids_a], [store.get(i) for i, _ in ids_b]
    verdict = paired_verdict(SeedGroup("a", runs_a), SeedGroup("b", runs_b))
    verdict.label_a, verdict.label_b = label_a, label_b
    return verdict


def verdict_view(a: SeedGroup, b: SeedGroup, label_a: str, label_b: str) -> None:
    """The paired verdict in one sentence, the seed pairs on demand."""
    try:
        verdict = _verdict(tuple((r.run_id, r.created) for r in a.runs),
                           tuple((r.run_id, r.created) for r in b.runs), label_a, label_b)
    except ValueError as exc:
        st.warning(f"No verdict: {escape(exc)}.")
        return
    st.markdown(f"**Is it real?** {verdict.sentence()}")
    with st.expander("How this is worked out, seed by seed"):
        st.markdown("On the same test samples, only the samples where exactly one model is right can "
                    "tell them apart. If both were equally good, each such sample would be a coin toss; "
                    "McNemar's exact test says how unlikely the split seen is under that coin. The "
                    "interval comes from drawing the test samples (and the seeds) again with replacement, "
                    "2,000 times.")
        st.dataframe(pd.DataFrame([{
            "seed A": p.seed_a, "seed B": p.seed_b, "only A right": p.only_a_right, "only B right": p.only_b_right,
            "accuracy A": p.accuracy_a, "accuracy B": p.accuracy_b, "McNemar p": p.p_value}
            for p in verdict.pairs]), hide_index=True, width="stretch", column_config={
            "accuracy A": st.column_config.NumberColumn(format="percent"),
            "accuracy B": st.column_config.NumberColumn(format="percent"),
            "McNemar p": st.column_config.NumberColumn(format="%.4f")})


def mean_confusion(runs: list[Run], normalize: bool) -> np.ndarray:
    """The mean confusion matrix over runs (seeds), rows divided by their sums when normalize."""
    cm = np.mean([np.asarray(r.metrics["confusion"], dtype=float) for r in runs], axis=0)
    return cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm


def clickable(chart, name: str, by: str, class_names: list[str], container, **kwargs) -> None:
    """Show a matrix whose cell click sets the page's cell filter (by: whose predictions)."""
    key = f"matrix_{by}"
    show_chart(chart, name, container, width="content", key=key,
               on_select=partial(view.on_click, key, by, class_names), selection_mode=view.SELECTION, **kwargs)


def matrices(groups: list[SeedGroup], labels: dict[str, str], chosen: list[Run], vs: tuple[int, int] | None,
             normalize: bool, dataset: str) -> None:
    """A's and B's confusion matrices and A minus B (or every run's, without A and B); any cell
    clicked filters the sample table."""
    class_names = chosen[0].class_names
    shown_runs = chosen
    # One colour scale for every matrix in the section: one shade means one count in each (a
    # mean over seeds is never above its largest run's).
    vmax = charts.shared_vmax([r.metrics["confusion"] for r in chosen], normalize)
    if vs is not None:
        a, b = groups[vs[0]], groups[vs[1]]
        la, lb = group_label(a, labels), group_label(b, labels)
        cols = st.columns([1, 1, 1.1])
        for col, group, label, by in ((cols[0], a, la, "a"), (cols[1], b, lb, "b")):
            clickable(charts.confusion_chart(mean_confusion(group.runs, False), class_names, label,
                                             normalize=normalize, size=MATRIX_SIZE, select=view.SELECTION, vmax=vmax),
                      f"{dataset}-confusion-{label}", by, class_names, col, height=MATRIX_SIZE + LEGEND_ROOM)
        difference = mean_confusion(a.runs, normalize) - mean_confusion(b.runs, normalize)
        clickable(compare_charts.difference_chart(difference, class_names, "A minus B", normalize=normalize,
                                                  size=MATRIX_SIZE, select=view.SELECTION),
                  f"{dataset}-confusion-difference", "either", class_names, cols[2],
                  height=MATRIX_SIZE + LEGEND_ROOM)
        st.caption("A minus B: blue where A does better (more right on the diagonal, fewer of a "
                   "mistake off it), red where B does. Click a cell of any matrix to list its samples below.")
        in_pair = {r.run_id for r in a.runs + b.runs}
        shown_runs = [r for r in chosen if r.run_id not in in_pair]
        if not shown_runs:
            return
        st.markdown("**The other runs**")
    for start in range(0, len(shown_runs), MATRICES_PER_ROW):
        cols = st.columns(MATRICES_PER_ROW)
        for col, run in zip(cols, shown_runs[start:start + MATRICES_PER_ROW]):
            clickable(charts.confusion_chart(run.metrics["confusion"], run.class_names, labels[run.run_id],
                                             normalize=normalize, size=MATRIX_SIZE, select=view.SELECTION, vmax=vmax),
                      f"{dataset}-confusion-{run.run_id}", f"r{chosen.index(run)}", class_names, col,
                      height=MATRIX_SIZE + LEGEND_ROOM)


@st.cache_data(max_entries=64, show_spinner=False)
def _snapshots(run_id: str, created: float) -> dict | None:
    return get_store().snapshots(run_id)


def run_snapshots(run: Run) -> dict | None:
    """A run's kept per-epoch test probabilities (None for a baseline or an older run)."""
    return _snapshots(run.run_id, run.created)


MOST_FORGOTTEN = 8


def forgetting_view(runs: list[Run], snapshots: dict[str, dict | None], labels: dict[str, str]) -> None:
    """Per run, the test samples it got right at one kept epoch and wrong at a later one."""
    rows = []
    for run in runs:
        snap = snapshots.get(run.run_id)
        if snap is None or len(snap["epochs"]) < 2:
            continue
        flips = forgetting(run.y_test, snap)
        order = np.argsort(-flips, kind="stable")[:MOST_FORGOTTEN]
        rows.append({"run": labels[run.run_id], "forgotten samples": int((flips > 0).sum()),
                     "times forgotten": int(flips.sum()),
                     "most forgotten": ", ".join(f"#{i} ({flips[i]}×)" for i in order if flips[i] > 0)})
    if not rows:
        return
    with st.expander("Forgetting: test samples learned, then lost"):
        st.caption("A sample is forgotten when a run gets it right at one kept epoch and wrong at the next "
                   "(epochs are kept log-spaced past 30, so a few flips between them go unseen). Often "
                   "forgotten samples are the hard or mislabelled ones; find them by number in the table below.")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


@st.cache_data(max_entries=8, show_spinner="Placing the test samples on a map...")
def _map_coordinates(dataset: str, split_seed: int, modality: str, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    X_test, _ = cached_dataset(dataset, split_seed).split("test")
    ids = sample_ids(len(X_test))
    return ids, embed_2d(modality, X_test[ids], sample_rate)


def agreement_view(spec, split_seed: int, X_test: np.ndarray, a: SeedGroup, b: SeedGroup,
                   class_names: list[str]) -> None:
    """The test samples in 2-D by their inputs, coloured by who of A and B gets them right;
    clicking one lists it alone in the sample table."""
    ids, xy = _map_coordinates(spec.name, split_seed, spec.modality, spec.sample_rate)
    y = a.runs[0].y_test[ids]
    who = outcomes(y, [r.test_proba[ids] for r in a.runs], [r.test_proba[ids] for r in b.runs])

    def top(group: SeedGroup) -> list[str]:
        proba = np.mean([r.test_proba[ids] for r in group.runs], axis=0)
        return [f"{class_names[k]} ({p:.0%})" for k, p in zip(proba.argmax(1), proba.max(1))]

    points = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "sample": ids, "outcome": who,
                           "rank": [OUTCOMES.index(o) == 0 for o in who],  # agreements drawn first
                           "true": [class_names[k] for k in y], "A": top(a), "B": top(b)})
    points["rank"] = (~points["rank"]).astype(int)
    column, tooltips = view_for(spec.modality).map_tooltip(X_test[ids], spec)
    points[column] = tooltips
    counts = points["outcome"].value_counts()
    drawn = '' if len(ids) == len(X_test) else f' ({len(ids):,} of {len(X_test):,}, drawn at random)'
    st.caption(f"Each dot is a test sample{drawn}, "
               "placed by its input (principal components: similar inputs sit close). "
               + ", ".join(f"{o}: {counts.get(o, 0):,}" for o in OUTCOMES)
               + ". Hover for both models' answers; click a dot to list it below.")
    show_chart(compare_charts.agreement_chart(points, select=view.POINT_SELECTION), f"{spec.name}-agreement",
               width="stretch", key="agreement_map", on_select=partial(view.on_point, "agreement_map"),
               selection_mode=view.POINT_SELECTION)


def clicked_samples(shown: pd.DataFrame, y_test: np.ndarray, groups: list[SeedGroup], runs: list[Run],
                    vs: tuple[int, int] | None, labels: dict[str, str], class_names: list[str]) -> pd.DataFrame:
    """The rows of shown (a probability_table) in the confusion cell or the map's sample clicked,
    with what was clicked and a way back to every sample."""
    cell = st.session_state.get(view.CELL)
    if cell:
        by = cell["by"]
        members = {"a": groups[vs[0]].runs if vs else [], "b": groups[vs[1]].runs if vs else []}
        members["either"] = members["a"] + members["b"]
        cell_runs = members[by] if by in members else [runs[int(by[1:])]]
        ids = cell_samples(y_test, [r.test_proba for r in cell_runs], cell["true"], cell["pred"])
        shown = shown[shown["index"].isin(ids)]
        cols = st.columns([4, 3, 1.5], vertical_alignment="center")
        whose = {"a": "A", "b": "B", "either": "A or B"}.get(by, labels[cell_runs[0].run_id])
        cols[0].markdown(f"Confusion cell: true **{escape(class_names[cell['true']])}**, predicted "
                         f"**{escape(class_names[cell['pred']])}** by {whose}: {len(ids):,} samples")
        if by in ("a", "b", "either"):
            by_labels = {"a": "A", "b": "B", "either": "either"}
            st.session_state["cell_by"] = by_labels[by]
            cols[1].segmented_control("Predicted by", list(by_labels.values()), key="cell_by", required=True,
                                      on_change=view.set_cell_by, args=("cell_by", by_labels),
                                      label_visibility="collapsed")
        cols[2].button("Every sample", on_click=view.clear_cell, icon=":material/close:")
    point = st.session_state.get(view.POINT)
    if point is not None:
        shown = shown[shown["index"] == point]
        cols = st.columns([7, 1.5], vertical_alignment="center")
        cols[0].markdown(f"Test sample #{point}, picked on the agreement map")
        cols[1].button("Every sample", on_click=view.clear_cell, icon=":material/close:", key="every_sample_point")
    return shown
