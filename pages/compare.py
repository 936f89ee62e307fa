"""Compare: stored runs of one dataset side by side (metrics, curves, confusion, per-sample)."""

import numpy as np
import pandas as pd
import streamlit as st

from nnapps.charts import results as charts

from nnapps.charts import compare as compare_charts
from nnapps.analysis.calibration import reliability_bins
from nnapps.analysis.comparison import group_runs
from nnapps.data import DatasetUnavailable
from nnapps.analysis.epochs import run_at
from nnapps.analysis.evaluation import FILTERS, filter_rows, probability_table
from nnapps.ui import compare_view, state
from nnapps.ui.bundle_views import delete_widget, download_buttons, import_widget
from nnapps.ui.charts_out import show_chart
from nnapps.ui.compare_sections import (agreement_view, clicked_samples, forgetting_view, group_label, matrices,
                                        metrics_table, run_snapshots, verdict_view)
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.links_view import apply_link, copy_link, follow_link, sync_link
from nnapps.ui.nav import page_link
from nnapps.ui.progress import live_progress, session_jobs
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_runs
from nnapps.ui.services import cached_dataset, get_store
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.views import view_for
from nnapps.ui.visitor import visitor

MAX_DEFAULT_RUNS = 4
CURVE_HEIGHT = 340  # pixels of plot, the legends below it
SPLIT_SEED = 0

state.init_state()
spec = dataset_picker()
view = view_for(spec.modality)
store = get_store()

st.title("Compare")
linked = apply_link("compare", spec.name, store, SPLIT_SEED)
live_progress(spec.name, show_curves=False)

runs = store.list_runs(spec.name, SPLIT_SEED, visitor=visitor())
if not runs:
    st.info(f"No runs on {dataset_title(spec)} yet." + (" They appear here as training finishes."
                                             if session_jobs(spec.name) else ""))
    page_link("pages/train.py", "Train some models", ":material/model_training:")
    import_widget(spec.name, key="import_bundle")
    st.stop()


looks = RunLooks.of(runs)
labels = looks.labels
by_id = {r.run_id: r for r in runs}
newest = [r.run_id for r in sorted(runs, key=lambda r: r.created, reverse=True)[:MAX_DEFAULT_RUNS]]
# A run stored since this session last drew the page (a training that just finished) joins
# the comparison: the widget keeps its value across reruns, so its default would not add it.
seen = st.session_state.get(state.COMPARE_SEEN)
if seen is not None and state.COMPARE_RUNS in st.session_state:
    added = [i for i in by_id if i not in seen]
    if added:
        st.session_state[state.COMPARE_RUNS] = [i for i in st.session_state[state.COMPARE_RUNS] if i in by_id] + added
st.session_state[state.COMPARE_SEEN] = set(by_id)
follow_link("compare", state.COMPARE_RUNS, linked, by_id)
# The default only matters when the widget starts (passing it beside a value set above warns).
chosen_ids = pick_runs("Runs to compare", list(by_id), looks, key=state.COMPARE_RUNS,
                       default=None if state.COMPARE_RUNS in st.session_state else newest[::-1])
chosen = [by_id[i] for i in chosen_ids]
sync_link("compare", [r.config for r in chosen])
copy_link()
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
names = [labels[r.run_id] for r in chosen]
groups = group_runs(chosen)
group_names = [group_label(g, labels) for g in groups]
# A seed group is drawn in its first run's colour.
group_colours = {name: looks.colours[g.runs[0].run_id] for name, g in zip(group_names, groups)}
class_names = chosen[0].class_names

# --- metrics -----------------------------------------------------------------------------
st.subheader("Metrics on the test split")
seeded = any(len(g.runs) > 1 for g in groups)
each_seed = seeded and st.toggle("Each seed", key="each_seed",
                                 help="One row (and one curve) per run instead of the mean over seeds")
metrics_table(groups, labels, each_seed)

# --- curves ------------------------------------------------------------------------------
st.subheader("Training curves")
snapshots = {r.run_id: run_snapshots(r) for r in chosen}
kept = sorted({int(e) for snap in snapshots.values() if snap is not None for e in snap["epochs"]})
epoch = None
if kept:
    picked = st.select_slider("Replay epoch", kept + ["end"], value="end", key="replay_epoch",
                              help="Show every run as it was at this epoch: the rule on the curves, the "
                                   "confusion matrices, A minus B and the sample table. The metrics, the "
                                   "verdict and calibration stay the final ones.")
    epoch = None if picked == "end" else int(picked)
if epoch is not None:
    st.caption(f"Replaying epoch {epoch}: each run as it was then (one that stopped earlier, at its last "
               "epoch; a scikit-learn baseline, which has no epochs, as it ended).")
# The runs as the scrubber shows them (the stored runs themselves at the end).
chosen_now = [run_at(r, snapshots[r.run_id], epoch) for r in chosen]
groups_now = group_runs(chosen_now)
left, right = st.columns(2)
if seeded and not each_seed:
    st.caption("Solid: validation (mean over seeds, the band ±1 standard deviation). Dashed: training. "
               "A gap that grows means the model memorises.")
    seed_histories = {name: [r.history.epochs for r in g.runs] for name, g in zip(group_names, groups)}
    for col, metric in ((left, "loss"), (right, "accuracy")):
        show_chart(compare_charts.seed_curves_chart(seed_histories, metric, epoch=epoch, colours=group_colours),
                   f"{spec.name}-{metric}-curves", col, width="stretch",
                   height=charts.height_with_legend(CURVE_HEIGHT, len(seed_histories)))
else:
    st.caption("Solid: validation. Dashed: training. A gap that grows means the model memorises.")
    histories = {labels[r.run_id]: r.history.epochs for r in chosen}
    for col, metric in ((left, "loss"), (right, "accuracy")):
        show_chart(charts.curves_chart(histories, metric, epoch=epoch, colours=looks.by_label(chosen_ids)),
                   f"{spec.name}-{metric}-curves", col, width="stretch",
                   height=charts.height_with_legend(CURVE_HEIGHT, len(histories)))
forgetting_view(chosen, snapshots, labels)

# --- confusion matrices, A against B -----------------------------------------------------
st.subheader("Confusion matrices")
vs = None
if len(groups) >= 2:
    compare_view.apply_vs(len(groups))
    for key, default in ((compare_view.VS_A, 0), (compare_view.VS_B, 1)):
        if st.session_state.get(key) not in range(len(groups)):
            st.session_state[key] = default
    pick = st.columns(2)
    a = pick[0].selectbox("A", range(len(groups)), format_func=group_names.__getitem__, key=compare_view.VS_A)
    b = pick[1].selectbox("B", range(len(groups)), format_func=group_names.__getitem__, key=compare_view.VS_B)
    if a == b:
        st.warning("Pick two different runs (or configs) for A and B to see which is better.")
    else:
        vs = (a, b)
        verdict_view(groups[a], groups[b], group_names[a], group_names[b])
compare_view.apply_cell(len(class_names), len(chosen))
compare_view.drop_stale_cell(len(class_names), len(chosen), vs is not None)
compare_view.sync(vs)
mode = st.segmented_control("Cells show", ["Counts", "Normalised"], default="Counts", key="cm_mode",
                            required=True, help="Normalised: share of each true class (rows sum to 100%)")
matrices(groups_now, labels, chosen_now, vs, mode == "Normalised", spec.name)

with st.expander("Precision and recall per class"):
    rows = []
    for run in chosen:
        for i, name in enumerate(run.class_names):
            rows.append({"run": labels[run.run_id], "class": name, "precision": run.metrics["precision"][i],
                         "recall": run.metrics["recall"][i], "support": run.metrics["support"][i]})
    st.dataframe(pd.DataFrame(rows).pivot_table(index="class", columns="run",
                                                values=["precision", "recall"], sort=False)
                 .map(lambda v: f"{v:.1%}"), width="stretch")

# --- calibration -------------------------------------------------------------------------
st.subheader("Calibration")
st.caption("Can its probabilities be trusted? Test samples binned by the model's confidence: a "
           "calibrated model is right 80% of the time when it says 80%, on the dashed diagonal. Below "
           "it, the model is overconfident. Point size: samples in the bin.")
pooled = {name: reliability_bins(np.concatenate([r.y_test for r in g.runs]),
                                 np.concatenate([r.test_proba for r in g.runs]))
          for name, g in zip(group_names, groups)}
show_chart(compare_charts.reliability_chart(pooled, colours=group_colours), f"{spec.name}-reliability", width="stretch",
           height=charts.height_with_legend(320, len(pooled)))

# --- per-sample views: the agreement map, every test sample ------------------------------
try:
    dataset = cached_dataset(spec.name, SPLIT_SEED)
except DatasetUnavailable as exc:
    st.error(escape(exc))
    st.stop()
X_test, y_test = dataset.split("test")
mismatched = [labels[r.run_id] for r in chosen if not np.array_equal(r.y_test, y_test)]
if mismatched:
    st.error(f"The test split of {dataset_title(spec)} has changed since {', '.join(mismatched)} were trained; "
             "per-sample views need runs on the same split. Retrain them.")
    st.stop()
if vs is not None:
    st.subheader("Agreement map")
    agreement_view(spec, SPLIT_SEED, X_test, groups_now[vs[0]], groups_now[vs[1]], class_names)

st.subheader("Every test sample")

table = probability_table(y_test, {n: r.test_proba for n, r in zip(names, chosen_now)}, dataset.class_names)
# The whole width: in a column, a 1280 px window cut the last choice short.
# One run has nothing to disagree with: it is shown all, or where it is wrong.
filters = FILTERS if len(names) > 1 else ("all", "all wrong")
if st.session_state.get("prob_filter") not in filters:
    st.session_state["prob_filter"] = "all"
how = st.segmented_control("Show", filters, key="prob_filter", required=True,
                           format_func=lambda f: "wrong" if len(names) == 1 and f == "all wrong" else f)
run_a = run_b = None
if how == "A right, B wrong":
    filter_cols = st.columns(2)
    run_a = filter_cols[0].selectbox("A (right)", names, index=0, key="filter_a")
    run_b = filter_cols[1].selectbox("B (wrong)", names, index=1, key="filter_b")
shown = filter_rows(table, how, run_a, run_b)
shown = clicked_samples(shown, y_test, groups_now, chosen_now, vs, labels, class_names)
st.caption(f"{len(shown):,} of {len(table):,} test samples" + view.rows_caption(len(shown))
           + " to see every model's full distribution.")
if shown.empty:
    st.info("No sample matches this filter.")
    st.stop()

sample = view.sample_rows(shown, X_test, names, spec)
st.markdown(f"**Test sample #{sample}**, true class **{escape(dataset.class_names[y_test[sample]])}**")
dist = view.sample_view(X_test[sample], spec)
show_chart(charts.distribution_chart({n: r.test_proba[sample] for n, r in zip(names, chosen_now)},
                                     dataset.class_names, dataset.class_names[y_test[sample]],
                                     colours=looks.by_label(chosen_ids)),
           f"{spec.name}-test-item-{sample}", dist, width="stretch",
           height=charts.height_with_legend(300, -(-len(names) // 2)))

view.sample_details(sample, X_test[sample], chosen, names, dataset.class_names)

with st.expander("Download, import and delete runs"):
    st.markdown("**Download** a run as one zip, to keep it or import it on another copy of nnapps:")
    download_buttons(chosen, labels)
    import_widget(spec.name, key="import_bundle")
    delete_widget(list(by_id), labels)
