"""Resident memory of a server that trains through each executor, idle / training / after.

    python benchmarks/executor_memory.py [--epochs 3] [--examples spoken-digits] [--settings threads-public]

For each setting (threads-public: NNAPPS_PUBLIC=1, the public copy's threads backend;
processes-local: a local copy's worker processes; both with NNAPPS_MAX_TRAININGS=1) and each
of the Home page's one-click examples, it starts a fresh "server" process: the app's services
(streamlit's caches, used in bare mode), the job queue as the server makes it on a temporary
store, the example's splits loaded once into the pages' cache. It reads VmRSS / VmHWM from
/proc (psutil is not installed) of the server and of its worker processes: idle, every half
second while the example's models train (one after the other), and after they end once the
backend's idle time has passed. Measures; asserts nothing.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The Home page's one-click examples (pages/home.py EXAMPLES): dataset and model families.
EXAMPLES = {"digits": ("mlp", "cnn"), "reviews": ("tfidf", "gru"), "spoken-digits": ("pooled-mlp", "cnn")}
# What a copy is started with: the public copy's defaults, and a local copy's worker processes.
SETTINGS = {"threads-public": {"NNAPPS_PUBLIC": "1", "NNAPPS_EXECUTOR": "threads"},
            "processes-local": {"NNAPPS_EXECUTOR": "processes"}}
# Issue 17: a public copy stays under 1 GB (server and workers together) while an example trains.
TARGET_MB = 1024

SERVER = r"""
import json, sys, time
from pathlib import Path
import logging
from nnapps.store.runs import RunConfig
from nnapps.ui import services
logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare mode: no script run, on purpose

def mb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0

backend, epochs, dataset, families = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
services.cached_dataset(dataset, 0)  # the pages' copy, as the Data page leaves it
queue = services.get_queue()  # as the server makes it, from NNAPPS_EXECUTOR and NNAPPS_MAX_TRAININGS
time.sleep(1)
idle = mb("self", "VmRSS")
configs = [RunConfig.make(dataset, f, train={"epochs": epochs}) for f in families]
ids = [queue.submit(c) for c in configs]
peak_server = peak_workers = peak_total = 0.0
while not all(s.finished for s in map(queue.snapshot, ids)):
    server = mb("self", "VmRSS")
    workers = sum(mb(p, "VmRSS") for p in queue.backend.worker_pids())
    peak_server, peak_workers = max(peak_server, server), max(peak_workers, workers)
    peak_total = max(peak_total, server + workers)
    time.sleep(0.5)
states = [queue.snapshot(j).state for j in ids]
right_after = mb("self", "VmRSS")
time.sleep(queue.backend.idle_seconds + 6)  # the tidier runs every few seconds
after = mb("self", "VmRSS")
# The server's own high-water mark catches a peak between two samples (all of it, with threads).
hwm = mb("self", "VmHWM")
print(json.dumps({"backend": backend, "dataset": dataset, "states": states, "idle_mb": idle,
                  "server_peak_mb": max(peak_server, hwm), "workers_peak_mb": peak_workers,
                  "server_plus_workers_peak_mb": max(peak_total, hwm),
                  "server_hwm_mb": mb("self", "VmHWM"), "right_after_mb": right_after,
                  "after_idle_mb": after, "workers_after": len(queue.backend.worker_pids())}))
queue.close()
"""


def measure(setting: str, dataset: str, epochs: int = 3, idle_seconds: float = 5.0) -> dict:
    """One fresh server of setting training dataset's example; MB resident (see the docstring)."""
    with tempfile.TemporaryDirectory() as home:
        env = {**SETTINGS[setting], "NNAPPS_MAX_TRAININGS": "1", "NNAPPS_HOME": home,
               "NNAPPS_DATA_DIR": f"{home}/data", "NNAPPS_WORKER_IDLE_SECONDS": str(idle_seconds),
               "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", SERVER, SETTINGS[setting]["NNAPPS_EXECUTOR"], str(epochs),
                              dataset, ",".join(EXAMPLES[dataset])],
                             env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row.update(setting=setting, families=list(EXAMPLES[dataset]), wall_s=time.perf_counter() - t0,
               ratio_to_target=row["server_plus_workers_peak_mb"] / TARGET_MB)
    return row


def training_memory(settings=tuple(SETTINGS), datasets=tuple(EXAMPLES), epochs: int = 3,
                    log=print) -> list[dict]:
    """measure() for every setting and example, one fresh server each."""
    rows = []
    for setting in settings:
        for dataset in datasets:
            log(f"memory: {setting}, training the {dataset} example ({', '.join(EXAMPLES[dataset])})")
            rows.append(measure(setting, dataset, epochs))
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a text table, with each peak's ratio to the 1 GB target."""
    lines = [f"{'setting':16} {'example':14} {'idle':>5} {'server peak':>11} {'workers peak':>12} "
             f"{'total peak':>10} {'/ 1 GB':>6} {'right after':>11} {'after idle':>10}  (MB resident)"]
    for r in rows:
        lines.append(f"{r['setting']:16} {r['dataset']:14} {r['idle_mb']:5.0f} {r['server_peak_mb']:11.0f} "
                     f"{r['workers_peak_mb']:12.0f} {r['server_plus_workers_peak_mb']:10.0f} "
                     f"{r['ratio_to_target']:6.2f} {r['right_after_mb']:11.0f} {r['after_idle_mb']:10.0f}"
                     f"  {r['states']} {r['wall_s']:.0f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--examples", default=",".join(EXAMPLES), help=f"of {', '.join(EXAMPLES)}")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"of {', '.join(SETTINGS)}")
    args = parser.parse_args()
    rows = training_memory(args.settings.split(","), args.examples.split(","), args.epochs,
                           log=lambda msg: print(msg, file=sys.stderr))
    print(table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
