"""Live training progress: a fragment that polls the job queue and draws bars and curves; the
jobs a server's stop interrupted, to start again."""

from typing import Callable

import streamlit as st

from nnapps.charts import results as charts
from nnapps.execution.jobs import Job
from nnapps.limits import LimitExceeded
from nnapps.store.runs import EVERYONE, RunConfig
from nnapps.ui import state
from nnapps.ui.escape import escape
from nnapps.ui.estimates import job_time_left
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.services import get_queue, get_store
from nnapps.ui.visitor import visitor

POLL_SECONDS = 0.5


def session_jobs(dataset: str | None = None) -> list[Job]:
    """Snapshots of the jobs this session submitted, optionally for one dataset."""
    queue = get_queue()
    snaps = [queue.snapshot(j) for j in st.session_state.get(state.JOBS, [])]
    return [s for s in snaps if s is not None and (dataset is None or s.config.dataset == dataset)]


def submit(configs, example: bool = False) -> list[int]:
    """Queue configs as this visitor's runs (an example's are everyone's) and remember their job
    ids. Configs past the visitor's run limit are not queued: the page says so."""
    queue = get_queue()
    ids = []
    try:
        for config in configs:
            ids.append(queue.submit(config, owner=EVERYONE if example else visitor()))
    except LimitExceeded as exc:
        st.error(f"{len(configs) - len(ids)} of {len(configs)} not queued: {escape(exc)}. Delete runs you no "
                 "longer need under *Download, import and delete runs* on the Compare page (download "
                 "one first to keep it).", icon=":material/block:")
    st.session_state[state.JOBS] = [j for j in st.session_state[state.JOBS] if j not in ids] + ids
    return ids


def interrupted_jobs(include: Callable[[RunConfig], bool], key: str) -> None:
    """This visitor's jobs (and the examples') that were queued or training when a server stopped,
    those include() accepts, each with Train again and Dismiss."""
    queue = get_queue()
    jobs = [j for j in queue.interrupted(visitor()) if include(j.config)]
    if not jobs:
        return
    with st.container(border=True):
        st.markdown(f"**Interrupted** · {len(jobs)} training{'s were' if len(jobs) > 1 else ' was'} "
                    "queued or running when the server stopped")
        for job in jobs:
            text, again, dismiss = st.columns([4, 1, 1], vertical_alignment="center")
            # st.text: a config's names are shown as written, never as markdown.
            text.text(f"{job.config.label()} on {job.config.dataset}: {job.message}")
            if again.button("Train again", key=f"{key}_restart_{job.job_id}", icon=":material/replay:"):
                try:
                    new_id = queue.restart(job.job_id, visitor())
                except LimitExceeded as exc:
                    st.error(str(exc), icon=":material/block:")
                    continue
                if new_id is not None:
                    st.session_state[state.JOBS] = [*st.session_state[state.JOBS], new_id]
                st.rerun()
            if dismiss.button("Dismiss", key=f"{key}_dismiss_{job.job_id}", icon=":material/close:"):
                queue.dismiss(job.job_id, visitor())
                st.rerun()


def live_progress(dataset: str, show_curves: bool = True) -> None:
    """Progress of this session's jobs on dataset; polls while any is unfinished.

    When the last one finishes the whole page reruns, so what depends on stored runs (the
    Compare tables) appears without a click.
    """
    active = any(not j.finished for j in session_jobs(dataset))
    st.fragment(run_every=POLL_SECONDS if active else None)(_draw)(dataset, show_curves, active)


def _draw(dataset: str, show_curves: bool, was_active: bool) -> None:
    jobs = session_jobs(dataset)
    if not jobs:
        return
    unfinished = [j for j in jobs if not j.finished]
    if was_active and not unfinished:
        st.rerun()
    queue = get_queue()
    with st.container(border=True):
        head, stop = st.columns([4, 1])
        head.markdown(f"**Training** · {len(jobs) - len(unfinished)} of {len(jobs)} finished")
        if unfinished and stop.button("Stop", key="stop_training", icon=":material/stop_circle:",
                                      help="End training after the current step; what was learned so far is kept"):
            for j in unfinished:
                queue.stop(j.job_id)
        for j in jobs:
            _job_row(j, queue.position(j.job_id))
        if show_curves and any(len(j.epochs) > 1 for j in jobs):
            labels, colours = job_looks(dataset, jobs)
            histories = {labels[j.config.run_id]: j.epochs for j in jobs if j.epochs}
            left, right = st.columns(2)
            height = charts.height_with_legend(300, len(histories))
            for col, metric in ((left, "loss"), (right, "accuracy")):
                col.altair_chart(charts.curves_chart(histories, metric, height=300, colours=colours), width="stretch",
                                 height=height)


def job_looks(dataset: str, jobs: list[Job]) -> tuple[dict[str, str], dict[str, str]]:
    """Labels by run id and colours by label for jobs' runs, as the other pages will show them:
    a stored run keeps its place among the dataset's stored runs; a training not stored yet takes
    the next free place, in the order the jobs were submitted (as it will when stored, unless
    trainings finish out of order)."""
    stored = get_store().list_runs(dataset, jobs[0].config.split_seed, visitor=visitor())
    looks = RunLooks.of(stored, pending=[j.config.run_id for j in jobs])
    labels = {**{j.config.run_id: j.config.label() for j in jobs}, **looks.labels}
    return labels, {labels[j.config.run_id]: looks.colours[j.config.run_id] for j in jobs}


def _job_row(job: Job, position: int) -> None:
    done = len(job.epochs)
    if job.state == "failed":
        st.error(f"{job.config.label()}: {escape(job.error)}")
        return
    if job.state == "interrupted":
        st.warning(f"{job.config.label()}: {job.message}")
        return
    if job.state == "queued":
        text = f"{job.config.label()}: waiting, {position} ahead in the queue"
    else:
        last = job.epochs[-1] if job.epochs else None
        detail = (f" · val accuracy {last.val_acc:.1%}, loss {last.val_loss:.3f}" if last else "")
        text = f"{job.config.label()}: {job.message}{detail}{job_time_left(job)}"
        if job.state == "stopped":
            text += " (stopped)"
    fraction = 1.0 if job.finished else min(done / max(job.total_epochs, 1), 1.0)
    st.progress(fraction, text=text)
