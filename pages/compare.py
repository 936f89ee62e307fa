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
from nnapps.analysis.evaluation import FILTERS, filter_rows, probability_table, shown_rows
from nnapps.analysis.explain import word_effects
from nnapps.store.runs import Run
from nnapps.ui import compare_view, state
from nnapps.ui.bundle_views import delete_widget, download_buttons, import_widget
from nnapps.ui.charts_out import show_chart
from nnapps.ui.compare_sections import (agreement_view, clicked_samples, forgetting_view, group_label, matrices,
                                        metrics_table, run_snapshots, verdict_view)
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.images import data_uri, display_scale, to_pil
from nnapps.ui.links_view import apply_link, copy_link, follow_link, sync_link
from nnapps.ui.nav import page_link
from nnapps.ui.progress import live_progress, session_jobs
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_runs
from nnapps.ui.services import cached_dataset, get_store, load_predictors
from nnapps.ui.text_view import highlighted_html
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.sounds import spectrograms, to_picture
from nnapps.ui.visitor import visitor

MAX_DEFAULT_RUNS = 4
CURVE_HEIGHT = 340  # pixels of plot, the legends below it
MAX_TABLE_ROWS = 500
SOUNDS_PER_PAGE = 8
SPLIT_SEED = 0
AUDIO_SAMPLE = "compare_audio_sample"  # the test sound picked for details

state.init_state()
spec = dataset_picker()
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


def word_effects_view(sample: int, text: str, chosen_runs: list[Run], run_names: list[str],
                      class_names: list[str]) -> None:
    """For one test text, each model's words tinted by how much they moved its prediction."""
    st.markdown("**Which words moved each prediction.** Each word is removed in turn: blue words "
                "raised the probability of the model's predicted class, red words lowered it "
                "(hover for the change).")
    predictors, problems = load_predictors([r.run_id for r in chosen_runs],
                                           {r.run_id: name for r, name in zip(chosen_runs, run_names)})
    for problem in problems:
        st.warning(escape(problem))
    for name, run in zip(run_names, chosen_runs):
        if name not in predictors:
            continue
        predictor = predictors[name]
        # The stored test probabilities are what the loaded model gives (a tested promise).
        predicted = int(run.test_proba[sample].argmax())
        p, effects = word_effects(text, predictor, predicted)
        st.markdown(f"{name} → **{escape(class_names[predicted])}** ({p:.0%})")
        st.html(f'<div style="line-height: 2; font-size: 1.05rem">{highlighted_html(text, effects)}</div>')


def choose_sound(sample: int) -> None:
    st.session_state[AUDIO_SAMPLE] = sample


def sound_rows(shown: pd.DataFrame, X: np.ndarray, run_names: list[str], rate: int) -> int:
    """A page of test sounds, each with a player, its spectrogram and every model's prediction;
    returns the sample picked for details."""
    n_pages = max(1, -(-len(shown) // SOUNDS_PER_PAGE))
    page = (st.columns([1, 4])[0].number_input(f"Page (of {n_pages})", 1, n_pages, 1, key="sound_page")
            if n_pages > 1 else 1)
    rows = shown_rows(shown.iloc[(page - 1) * SOUNDS_PER_PAGE:page * SOUNDS_PER_PAGE], run_names)
    widths = [3, 1] + [1.5] * len(run_names)
    header = st.columns(widths)
    for col, title in zip(header, ["sound", "true"] + run_names):
        col.markdown(f"**{title}**")
    pictures = spectrograms(X[rows["#"].to_numpy()], rate)
    for (_, row), db in zip(rows.iterrows(), pictures):
        sample = int(row["#"])
        cols = st.columns(widths, vertical_alignment="center")
        cols[0].image(to_picture(db), width="stretch")
        cols[0].audio(X[sample], sample_rate=rate)
        cols[1].markdown(f"#{sample}  \n**{escape(row['true'])}**")
        cols[1].button("Details", key=f"sound_details_{sample}", on_click=choose_sound, args=(sample,))
        for col, n in zip(cols[2:], run_names):
            col.markdown(escape(row[n]))
            col.progress(float(row[f"{n} p"]), text=f"{row[f'{n} p']:.0%}")
    picked = st.session_state.get(AUDIO_SAMPLE)
    return picked if picked in set(shown["index"]) else int(rows["#"].iloc[0])


def probability_dataframe(shown: pd.DataFrame, X: np.ndarray, run_names: list[str]) -> int:
    """The table of test images or texts with every model's prediction; returns the clicked one."""
    rows = shown_rows(shown, run_names)
    # The sample itself leads each row: a thumbnail for images, the words for texts.
    if spec.modality == "image":
        view = pd.DataFrame({"image": [data_uri(X[i]) for i in rows["#"]]})
        column_config = {"image": st.column_config.ImageColumn("image", width="small")}
    else:
        view = pd.DataFrame({"text": [X[i] for i in rows["#"]]})
        column_config = {"text": st.column_config.TextColumn("text", width="large")}
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
filter_cols = st.columns([3, 2, 2])
how = filter_cols[0].segmented_control("Show", FILTERS, default="all", key="prob_filter", required=True)
run_a = run_b = None
if how == "A right, B wrong":
    if len(names) < 2:
        st.warning("Pick two runs to use this filter.")
        st.stop()
    run_a = filter_cols[1].selectbox("A (right)", names, index=0, key="filter_a")
    run_b = filter_cols[2].selectbox("B (wrong)", names, index=1, key="filter_b")
shown = filter_rows(table, how, run_a, run_b)
shown = clicked_samples(shown, y_test, groups_now, chosen_now, vs, labels, class_names)
st.caption(f"{len(shown):,} of {len(table):,} test samples"
           # Sounds come a page at a time; a table of all the rest would be slow to send.
           + (f"; the first {MAX_TABLE_ROWS} are listed"
              if len(shown) > MAX_TABLE_ROWS and spec.modality != "audio" else "")
           + (". Press Details beside a sound" if spec.modality == "audio" else ". Click a row")
           + " to see every model's full distribution.")
if shown.empty:
    st.info("No sample matches this filter.")
    st.stop()
if spec.modality != "audio":
    shown = shown.head(MAX_TABLE_ROWS)

if spec.modality == "audio":
    sample = sound_rows(shown, X_test, names, spec.sample_rate)
else:
    sample = probability_dataframe(shown, X_test, names)
st.markdown(f"**Test sample #{sample}**, true class **{escape(dataset.class_names[y_test[sample]])}**")
if spec.modality == "image":
    pic, dist = st.columns([1, 4])
    pic.image(to_pil(X_test[sample], display_scale(X_test[sample], 160)))
elif spec.modality == "audio":
    pic, dist = st.columns([2, 3])
    pic.image(to_picture(spectrograms(X_test[sample], spec.sample_rate)[0], scale=3), width="stretch")
    pic.audio(X_test[sample], sample_rate=spec.sample_rate)
else:
    dist = st.container()
show_chart(charts.distribution_chart({n: r.test_proba[sample] for n, r in zip(names, chosen_now)},
                                     dataset.class_names, dataset.class_names[y_test[sample]],
                                     colours=looks.by_label(chosen_ids)),
           f"{spec.name}-test-item-{sample}", dist, width="stretch",
           height=charts.height_with_legend(300, -(-len(names) // 2)))

if spec.modality == "text":
    word_effects_view(sample, X_test[sample], chosen, names, dataset.class_names)

with st.expander("Download, import and delete runs"):
    st.markdown("**Download** a run as one zip, to keep it or import it on another copy of nnapps:")
    download_buttons(chosen, labels)
    import_widget(spec.name, key="import_bundle")
    delete_widget(list(by_id), labels)
