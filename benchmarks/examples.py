"""Benchmark of the Home page's one-click examples, end to end as the page trains them: the
configs queued on a fresh store, through the executor and the number of slots this machine's
settings choose, until every run is stored and the workers have ended."""

import os
import resource
import statistics
import tempfile
import time
from typing import Callable

from nnapps import limits
from nnapps.examples import EXAMPLES, MEASURED_SECONDS, Example
from nnapps.execution import executor_name, make_backend
from nnapps.execution.jobs import JobQueue
from nnapps.store.runs import EVERYONE, RunStore


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its ended children (the worker processes)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def time_example(example: Example, slots: int) -> dict:
    """One click: a fresh store and queue (so fresh workers, nothing cached), wall and CPU
    seconds from the submission to the last run stored, and each run's test accuracy."""
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        queue = JobQueue(store, max_running=slots, backend=make_backend(slots=slots))
        try:
            jobs = queue.wait([queue.submit(c, owner=EVERYONE) for c in example.configs()], timeout=1800)
            seconds = time.perf_counter() - t0
        finally:
            queue.close()  # ends the workers, so their CPU time is counted below
        cpu = _cpu_seconds() - cpu0
        failed = [j.error or j.state for j in jobs if j.state != "done"]
        if failed:
            raise RuntimeError(f"the {example.dataset} example failed: {failed}")
        runs = [store.get(j.config.run_id) for j in jobs]
        return {"seconds": seconds, "cpu_seconds": cpu,
                "runs": {r.label: {"accuracy": r.metrics["accuracy"], "epochs": r.metrics["epochs_run"],
                                   "train_seconds": r.metrics["train_seconds"]} for r in runs}}


def home_examples(repeats: int, log: Callable[[str], None] = print) -> list[dict]:
    """Each example repeats times (median seconds), beside the figure the Home card shows."""
    slots = max(int(limits.TRAININGS.value()), 1)
    out = []
    for example in EXAMPLES:
        trials = []
        for i in range(repeats):
            trials.append(time_example(example, slots))
            log(f"  {example.dataset} {i + 1}/{repeats}: {trials[-1]['seconds']:.1f} s")
        out.append({"example": example.dataset, "executor": executor_name(), "slots": slots,
                    "cores": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                    "seconds": statistics.median(t["seconds"] for t in trials),
                    "cpu_seconds": statistics.median(t["cpu_seconds"] for t in trials),
                    "card_seconds": MEASURED_SECONDS[example.dataset], "runs": trials[-1]["runs"]})
    return out
