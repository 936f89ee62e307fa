"""Checking an upload off the page's script thread: one small pool of decoders for the server,
one job per session, with progress the page polls and a stop it can ask for.

Decoding a zip of images or sounds can take minutes; in the script thread it would freeze the
session's page until done. Here it runs in a worker while the page keeps answering, and a rerun
with the same file finds the same job instead of starting a second decode.
"""

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import streamlit as st

from nnapps.data import DatasetSpec, DatasetUnavailable
from nnapps.limits import UPLOAD_DECODERS
from nnapps.data.dataset import DecodingStopped
from nnapps.data.uploads import store_upload
from nnapps.ui.escape import escape

_JOB = "upload_job"
POLL_SECONDS = 0.5


@st.cache_resource(on_release=lambda pool: pool.shutdown(wait=False, cancel_futures=True))
def _pool() -> ThreadPoolExecutor:
    """The server's decoders, shared by every session: one more upload waits its turn for one."""
    return ThreadPoolExecutor(max_workers=max(int(min(UPLOAD_DECODERS.value(), 64)), 1),
                              thread_name_prefix="nnapps-upload")


@dataclass
class UploadJob:
    """One upload being checked; the worker writes it under its lock, the page reads it."""

    key: str
    filename: str
    fraction: float = 0.0
    message: str = "waiting for a free decoder"
    spec: DatasetSpec | None = None
    error: str | None = None
    stopped: bool = False
    done: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> tuple[float, str]:
        with self._lock:
            return self.fraction, self.message

    def _progress(self, fraction: float, message: str) -> None:
        with self._lock:
            self.fraction, self.message = min(max(fraction, 0.0), 1.0), message

    def _run(self, data: bytes, columns: dict) -> None:
        try:
            spec = store_upload(data, self.filename, **columns, progress=self._progress,
                                should_stop=self._stop.is_set)
            with self._lock:
                self.spec = spec
        except DatasetUnavailable as exc:
            with self._lock:
                self.error, self.stopped = str(exc), isinstance(exc, DecodingStopped)
        except Exception as exc:  # noqa: BLE001 - a worker must end its job, whatever it met
            logging.getLogger(__name__).exception("checking upload %r failed", self.filename)
            with self._lock:
                self.error = f"unexpected error while checking it ({type(exc).__name__}: {exc})"
        finally:
            with self._lock:
                self.done = True

    def _cancelled(self) -> None:
        """The pool shut down before the job ran (its cache was released): end it, or the page waits forever."""
        with self._lock:
            self.error, self.stopped, self.done = "the server stopped checking it; check it again", True, True


def upload_job(data: bytes, filename: str, columns: dict) -> UploadJob:
    """This session's job for this file and columns: the one already running or done, else a new one
    (an earlier job for another file is asked to stop)."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps([filename, sorted(columns.items())]).encode())
    key = digest.hexdigest()
    job = st.session_state.get(_JOB)
    if job is not None and job.key == key:
        return job
    if job is not None:
        job.stop()
    job = UploadJob(key=key, filename=filename)
    st.session_state[_JOB] = job
    future = _pool().submit(job._run, data, dict(columns))
    future.add_done_callback(lambda f: f.cancelled() and job._cancelled())
    return job


def forget_upload() -> None:
    """No file in the uploader any more: stop what this session was checking."""
    job = st.session_state.pop(_JOB, None)
    if job is not None:
        job.stop()


def show_progress(job: UploadJob) -> None:
    """While the job runs: a bar and a Stop button that refresh on their own, so the rest of the
    page stays usable; when it ends, the whole page runs again to show the result."""
    st.fragment(run_every=POLL_SECONDS)(_draw)(job)


def _draw(job: UploadJob) -> None:
    if job.done:
        st.rerun()
    fraction, message = job.snapshot()
    st.progress(fraction, text=escape(f"Checking {job.filename}: {message}"))
    st.button("Stop checking", key="upload_stop", icon=":material/stop:", on_click=job.stop)
