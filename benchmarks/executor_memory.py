"""Resident memory of a server that trains through each executor, idle / training / after.

    python benchmarks/executor_memory.py [--epochs 3] [--families pooled-mlp,cnn]

For each backend it starts a fresh "server" process: the app's services (streamlit's caches,
used in bare mode), the job queue as the server makes it (NNAPPS_MAX_TRAININGS=1) on a
temporary store, the spoken-digits splits loaded once into the pages' cache. It reads VmRSS / VmHWM from /proc
(psutil is not installed) of the server
and of its worker processes: idle, every half second while the Home page's spoken-digits
example trains, and after it ends once the backend's idle time has passed.
Measures; asserts nothing.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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

backend, epochs, families = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
services.cached_dataset("spoken-digits", 0)  # the pages' copy, as the Data page leaves it
queue = services.get_queue()  # as the server makes it, from NNAPPS_EXECUTOR and NNAPPS_MAX_TRAININGS
time.sleep(1)
idle = mb("self", "VmRSS")
configs = [RunConfig.make("spoken-digits", f, train={"epochs": epochs}) for f in families]
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
print(json.dumps({"backend": backend, "states": states, "idle_mb": idle, "server_peak_mb": peak_server,
                  "workers_peak_mb": peak_workers, "server_plus_workers_peak_mb": peak_total,
                  "server_hwm_mb": mb("self", "VmHWM"), "right_after_mb": right_after,
                  "after_idle_mb": after, "workers_after": len(queue.backend.worker_pids())}))
queue.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--families", default="pooled-mlp,cnn")
    parser.add_argument("--idle", type=float, default=5.0, help="NNAPPS_WORKER_IDLE_SECONDS")
    args = parser.parse_args()
    rows = []
    for backend in ("threads", "processes"):
        with tempfile.TemporaryDirectory() as home:
            env = {"NNAPPS_EXECUTOR": backend, "NNAPPS_MAX_TRAININGS": "1", "NNAPPS_HOME": home,
                   "NNAPPS_DATA_DIR": f"{home}/data",
                   "NNAPPS_WORKER_IDLE_SECONDS": str(args.idle),
                   "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", SERVER, backend, str(args.epochs), args.families],
                                 env=env, capture_output=True, text=True, cwd=ROOT, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
    print(f"{'backend':10} {'idle':>6} {'server peak':>12} {'workers peak':>13} {'total peak':>11} "
          f"{'right after':>12} {'after idle':>11}  (MB resident)")
    for r in rows:
        print(f"{r['backend']:10} {r['idle_mb']:6.0f} {r['server_peak_mb']:12.0f} {r['workers_peak_mb']:13.0f} "
              f"{r['server_plus_workers_peak_mb']:11.0f} {r['right_after_mb']:12.0f} {r['after_idle_mb']:11.0f}"
              f"  {r['states']} {r['wall_s']:.0f} s")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
