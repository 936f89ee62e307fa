"""A sweep on a page: live progress with a stop, then its configs (mean ± std over seeds), charts,
and the top configs opened in Compare."""

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from nnapps.charts import sweeps as sweep_charts
from nnapps.store.links import MAX_RUNS, encode_runs
from nnapps.models import get_family
from nnapps.sweeps.jobs import SweepStatus
from nnapps.ui.sweep_form import get_sweeps

POLL_SECONDS = 1.0


def sweep_title(status_or_sweep) -> str:
    sweep = getattr(status_or_sweep, "sweep", status_or_sweep)
    axes = ", ".join(f"{name} × {len(values)}" for name, values in sweep.axes) or "no varied setting"
    models = ", ".join(get_family(f).title for f in sweep.families)
    return f"{models} on {sweep.dataset}: {axes}, {sweep.n_seeds} seed{'s' if sweep.n_seeds > 1 else ''}"


def sweep_progress(sweep_id: str) -> None:
    """Trials done / running / queued, the best so far and a stop; refreshed while the sweep runs."""
    running = get_sweeps().status(sweep_id).state == "running"

    @st.fragment(run_every=POLL_SECONDS if running else None)
    def draw() -> None:
        status = get_sweeps().status(sweep_id)
        counts = status.counts()
        finished = counts["done"] + counts["failed"] + counts["stopped"] + counts["interrupted"]
        st.progress(finished / max(len(status.trials), 1),
                    text=f"{counts['done']} done, {counts['running']} running, {counts['queued']} queued"
                         + "".join(f", {counts[s]} {s}" for s in ("failed", "stopped", "interrupted") if counts[s])
                         + f" of {len(status.trials)} trials")
        best = status.best
        if best is not None and best.val_mean is not None:
            st.markdown(f"Best so far: **{get_family(best.family).title} {best.settings}**, validation accuracy "
                        f"{best.val_mean:.1%}" + (f" ± {best.val_std:.1%}" if best.val_std is not None else "")
                        + f" over {best.n_seeds} seed{'s' if best.n_seeds > 1 else ''}")
        failed = [t for t in status.trials if t.state == "failed"]
        for t in failed[:3]:
            st.caption(f"Trial {t.trial.index + 1} ({t.trial.settings}, seed {t.trial.seed}) failed: {t.error}")
        if status.state == "running":
            st.button("Stop the sweep", icon=":material/stop:", key=f"stop_{sweep_id}",
                      on_click=get_sweeps().stop, args=(sweep_id,))
        elif status.state == "stopped" or counts["interrupted"]:
            st.button("Resume the sweep (trains only what is missing)", icon=":material/play_arrow:",
                      key=f"resume_{sweep_id}", on_click=get_sweeps().start, args=(status.sweep, status.owner))
        if running and status.state != "running":
            st.rerun()  # finished: the whole page draws its results

    draw()


def open_sweep_link(sweep_id: str, container=st) -> None:
    """A link to the Sweeps page showing this sweep."""
    try:
        container.page_link("pages/sweeps.py", label="Open the sweep view", icon=":material/table_chart:",
                            query_params={"sweep": sweep_id})
    except StreamlitPageNotFoundError:  # the page run alone (AppTest): no navigation to link into
        container.markdown("Open the sweep view from the app's navigation (Sweeps).")


def sweep_results(status: SweepStatus) -> None:
    """The configs table (sortable), parallel coordinates, accuracy per setting, compare the top k."""
    results = status.results
    if not results:
        st.info("No trial has finished yet.")
        return
    settings = [name for name, _ in status.sweep.axes]
    st.subheader("Configs, best first")
    st.caption("Mean ± sample standard deviation over seeds. Ranked by validation accuracy, which a choice "
               "may be made on; the test accuracy is shown beside it. Click a column to sort.")
    frame = sweep_charts.results_frame(results, settings)
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(frame, hide_index=True, column_config={c: percent for c in
                                                        ("val mean", "val std", "test mean", "test std")})
    if settings:
        st.altair_chart(sweep_charts.parallel_coordinates(results, settings))
        st.altair_chart(sweep_charts.accuracy_by_setting(results, settings))
    per_config = max(r.n_seeds for r in results)
    most = max(1, min(len(results), MAX_RUNS // per_config))
    k = st.number_input("Compare the top configs", 1, most, min(3, most), key=f"top_{status.sweep_id}",
                        help=f"A link holds at most {MAX_RUNS} runs: every seed of each config is shown")
    by_id = {t.run.run_id: t.run.config for t in status.trials if t.run is not None}
    configs = [by_id[run_id] for r in results[:k] for run_id in r.run_ids][:MAX_RUNS]
    try:
        st.page_link("pages/compare.py", label=f"Compare the top {k} in Compare", icon=":material/compare_arrows:",
                     query_params={"dataset": status.sweep.dataset, "runs": encode_runs(configs)})
    except StreamlitPageNotFoundError:
        st.markdown("Compare them from the app's navigation.")
