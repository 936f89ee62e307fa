"""The thread backend: trainings run in threads of the server itself (a copy with little memory).

Nothing is started or copied, so it is the lightest and the quickest to begin; but a
training's memory stays in the server's allocator and a stuck training cannot be killed.

Threads. torch's thread count is one setting per process (a thread that sets it changes it for
the others), so a training may own it only while it is the only one. The rule: with one slot,
each training's fit() sets what pays off for its model (one thread for a tiny one, cores for a
big one) and nothing else trains meanwhile to undo it; with several slots, the backend decides
the count once, cores // slots (at least 1), each slot thread sets that same value when it
first trains, and fit() never changes it. Either way nothing restores a count another set.
"""

import os
import sys
import threading
import time

from nnapps.execution.task import DatasetCache, Outcome, Report, Training, TrainingFailed, perform, release_memory


class ThreadBackend:
    """Runs perform() in the caller's thread (one of the queue's slots)."""

    name = "threads"

    def __init__(self, slots: int, idle_seconds: float = 60.0, load=None):
        self.slots = max(slots, 1)
        self.threads = max((os.cpu_count() or 1) // self.slots, 1)
        self.idle_seconds = idle_seconds
        self.datasets = DatasetCache(load=load)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._running = 0
        self._last_end = time.monotonic()

    def __repr__(self) -> str:
        return f"ThreadBackend(threads={self.threads})"

    def execute(self, training: Training, report: Report, should_stop) -> Outcome:
        threads = self.threads if self.slots == 1 else None  # the rule in the module's docstring
        if threads is None and not getattr(self._local, "threads_set", False):
            import torch
            torch.set_num_threads(self.threads)
            self._local.threads_set = True
        with self._lock:
            self._running += 1
        try:
            return perform(Training(training.config, training.owner, threads), report, should_stop,
                           self.datasets)
        except Exception as exc:
            raise TrainingFailed.of(exc) from exc
        finally:
            with self._lock:
                self._running -= 1
                self._last_end = time.monotonic()

    def tidy(self) -> None:
        """Drop the cached datasets once no training has run for idle_seconds."""
        with self._lock:
            idle = self._running == 0 and time.monotonic() - self._last_end >= self.idle_seconds
        if idle:
            self.datasets.clear()
            # The trainings' spectrograms too: kept, they would hold the server above its idle size.
            audio = sys.modules.get("nnapps.features.audio")  # imported by a training on sound, or not
            if audio is not None:
                audio.clear_cache()
            release_memory()

    def worker_pids(self) -> list[int]:
        return []

    def close(self) -> None:
        self.datasets.clear()
        release_memory()
