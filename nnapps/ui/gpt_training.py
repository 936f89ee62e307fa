"""A GPT training in progress, drawn live: steps, the two losses, and the latest sample."""

import streamlit as st

from nnapps.charts.results import curves_chart
from nnapps.execution.jobs import Job
from nnapps.gpt.runs import history_from_curve
from nnapps.models.gpt import FAMILY
from nnapps.store.runs import Run
from nnapps.ui.escape import escape
from nnapps.ui.progress import POLL_SECONDS, interrupted_jobs, session_jobs
from nnapps.ui.services import get_queue

ANNOUNCED = "gpt_announced_jobs"  # finished jobs whose run was already chosen for exploring


def corpus_title(run: Run) -> str:
    return run.preprocessor.get("title") or run.preprocessor.get("corpus", "")


def gpt_jobs() -> list[Job]:
    return [j for j in session_jobs() if j.config.family == FAMILY.name]


def interrupted_training() -> None:
    """GPT trainings a server's stop interrupted, to start again."""
    interrupted_jobs(lambda config: config.family == FAMILY.name, "gpt")


def live_training(pick_key: str) -> None:
    """This session's GPT trainings; polls while one is unfinished. When the last one ends,
    its run is put under pick_key and the page reruns to show it."""
    active = any(not j.finished for j in gpt_jobs())
    st.fragment(run_every=POLL_SECONDS if active else None)(_draw)(pick_key, active)


def _draw(pick_key: str, was_active: bool) -> None:
    jobs = gpt_jobs()
    if not jobs:
        return
    # A run that has just finished is chosen for exploring, once: whichever rerun (a poll of
    # this fragment or the whole page) first sees it finished.
    shown = st.session_state.setdefault(ANNOUNCED, set())
    new = [j for j in jobs if j.state in ("done", "stopped") and j.job_id not in shown]
    if new:
        shown.update(j.job_id for j in new)
        st.session_state[pick_key] = new[-1].config.run_id
        st.rerun()
    if was_active and all(j.finished for j in jobs):
        st.rerun()
    queue = get_queue()
    job = next((j for j in reversed(jobs) if not j.finished), jobs[-1])
    with st.container(border=True):
        head, stop = st.columns([4, 1])
        head.markdown(f"**{job.config.label()}** on {escape(job.config.dataset.split(':', 1)[1])}")
        if not job.finished and stop.button("Stop", key="gpt_stop", icon=":material/stop_circle:",
                                            help="End training now; the model keeps what it learned"):
            queue.stop(job.job_id)
        if job.state == "failed":
            st.error(escape(job.error))
            return
        steps = job.config.train["steps"]
        last = job.points[-1] if job.points else None
        if job.state == "queued":
            text = f"waiting, {queue.position(job.job_id)} ahead in the queue"
        elif job.finished:
            text = f"{job.state}: {job.message}"
        else:
            text = job.message + (f" · validation loss {last.val_loss:.3f}" if last else "")
        st.progress(1.0 if job.finished else (last.step / steps if last else 0.0), text=text)
        if len(job.points) > 1:
            history = history_from_curve(job.points)
            st.altair_chart(curves_chart({job.config.label(): history.epochs}, "loss", unit=history.unit),
                            width="stretch")
        if last is not None:
            st.markdown(f"Sample at step {last.step:,} (temperature 1):")
            st.code(last.sample, language=None, wrap_lines=True)
