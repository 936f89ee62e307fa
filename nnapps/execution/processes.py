"""The process backend: trainings run in a small pool of spawned worker processes.

A worker imports torch once and serves one training after another; each sets its own torch
thread count, so trainings never share one. The server sends a Training down a pipe and reads
progress and the Outcome back; a stop is a word on a second pipe, read between steps. A worker
that dies (killed, out of memory) fails its training and is replaced by a fresh one on the
next; a worker idle for idle_seconds ends, so its memory goes back to the system.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from multiprocessing.connection import Connection, wait

from nnapps.execution.task import DatasetCache, Outcome, Report, Training, TrainingFailed, perform

# How often a waiting slot looks at its job's stop flag (a stop is seen within this time).
_STOP_POLL_SECONDS = 0.1
_EXIT_SECONDS = 5.0  # a worker asked to end is killed if it has not within this time
# The folder holding the nnapps package, so a worker imports the same code whatever its folder.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def serve(conn: Connection, stop: Connection) -> None:
    """A worker's life: trainings in, ("progress" | "done" | "failed", payload) out, until None.

    stop: a second channel; anything written to it asks the current training to stop."""
    import torch

    datasets = DatasetCache()
    try:
        while True:
            training = conn.recv()
            if training is None:
                return
            while stop.poll():  # a stop meant for the last training
                stop.recv_bytes()
            if training.threads is not None:  # this process is the training's own: set once, here
                torch.set_num_threads(training.threads)
            try:
                reply = ("done", perform(training, lambda p: conn.send(("progress", p)), stop.poll, datasets))
            except Exception as exc:
                failed = TrainingFailed.of(exc)
                reply = ("failed", (str(failed), failed.expected, failed.details))
            conn.send(reply)
    except (EOFError, OSError):  # the server has gone (its end of the pipe closed): so does this
        return


class _Worker:
    """A fresh interpreter running serve(). Started with subprocess rather than multiprocessing's
    spawn context, which would first re-run the server's main script (Streamlit's) in it."""

    def __init__(self):
        ours, theirs = socket.socketpair()
        stop_ours, stop_theirs = socket.socketpair()
        fds = (theirs.fileno(), stop_theirs.fileno())
        # Ctrl-C in a terminal reaches the whole process group: the server decides when workers
        # end, so a worker starts in its own session.
        path = os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))
        self.process = subprocess.Popen([sys.executable, "-m", "nnapps.execution.worker", *map(str, fds)],
                                        pass_fds=fds, start_new_session=True,
                                        env={**os.environ, "PYTHONPATH": path})
        theirs.close()
        stop_theirs.close()
        self.conn, self.stop = Connection(ours.detach()), Connection(stop_ours.detach())
        self.stopping = False
        self.idle_since = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask_stop(self) -> None:
        if not self.stopping:
            self.stopping = True
            self.stop.send_bytes(b"stop")

    def end(self, kill: bool = False) -> None:
        if not kill and self.process.poll() is None:
            try:
                self.conn.send(None)
                self.process.wait(_EXIT_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()
        self.stop.close()


class ProcessBackend:
    """Runs each Training in a pooled worker process; at most as many workers as slots call it."""

    name = "processes"

    def __init__(self, slots: int, idle_seconds: float = 60.0):
        self.threads = max((os.cpu_count() or 1) // max(slots, 1), 1)
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: dict[int, _Worker] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"ProcessBackend(threads={self.threads}, workers={len(self._idle) + len(self._busy)})"

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers, training or idle."""
        with self._lock:
            return [*self._busy, *(w.pid for w in self._idle)]

    def execute(self, training: Training, report: Report, should_stop) -> Outcome:
        worker = self._take()
        try:
            worker.stopping = False
            worker.conn.send(Training(training.config, training.owner, self.threads))
            while True:
                ready = wait([worker.conn], _STOP_POLL_SECONDS)
                if should_stop():
                    worker.ask_stop()
                if ready:  # a message, or the end of the pipe when the process has died
                    try:
                        kind, payload = worker.conn.recv()
                    except (EOFError, OSError):
                        raise self._died(worker) from None
                    if kind == "progress":
                        report(payload)
                    elif kind == "done":
                        self._give_back(worker)
                        return payload
                    else:
                        self._give_back(worker)
                        raise TrainingFailed(*payload)
        except BaseException:
            with self._lock:
                lost = self._busy.pop(worker.pid, None)
            if lost is not None:  # not handed back: its state is unknown, so it goes
                worker.end(kill=True)
            raise

    def _died(self, worker: _Worker) -> TrainingFailed:
        try:
            code = worker.process.wait(_EXIT_SECONDS)
        except subprocess.TimeoutExpired:  # its pipe broke but it lives on: it goes
            worker.process.kill()
            code = worker.process.wait()
        if self._closed:
            how = "the executor was closed"
        elif code is not None and code < 0:
            how = f"killed by signal {-code} ({signal.Signals(-code).name})"
        else:
            how = f"exit code {code}"
        return TrainingFailed(f"the worker process training it ended unexpectedly: {how}",
                              expected=False)

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise TrainingFailed("the executor is closed", expected=False)
            worker = self._idle.pop() if self._idle else None
        if worker is None or worker.process.poll() is not None:
            if worker is not None:
                worker.end(kill=True)
            worker = _Worker()
        with self._lock:
            self._busy[worker.pid] = worker
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.pop(worker.pid, None)
            worker.idle_since = time.monotonic()
            if not self._closed:
                self._idle.append(worker)
                return
        worker.end()

    def tidy(self) -> None:
        """End the workers idle for idle_seconds: their memory goes back to the system."""
        now = time.monotonic()
        with self._lock:
            going = [w for w in self._idle if now - w.idle_since >= self.idle_seconds]
            self._idle = [w for w in self._idle if w not in going]
        for worker in going:
            worker.end()

    def close(self) -> None:
        """End every worker: idle ones are asked, busy ones killed (their trainings fail)."""
        with self._lock:
            self._closed = True
            idle, busy = self._idle, list(self._busy.values())
            self._idle = []
        for worker in idle:
            worker.end()
        for worker in busy:
            worker.process.kill()
