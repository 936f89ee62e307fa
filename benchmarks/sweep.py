"""A 12-trial sweep through each local backend and a local Ray, against the same trials one after another.

    python benchmarks/sweep.py [--quick] [--slots 2] [--modes sequential,threads,processes,ray] [--json]

The trials: the digits CNN, lr x channels x 2 seeds, forty epochs each (~5 s on one idle core). Each
mode runs in a fresh process on a fresh store, so none inherits another's warm caches:
- sequential: train_run of each trial one after another in that one process, on one torch
  thread (the baseline: what one core does); sequential-auto: the same, with the thread count
  fit picks for the model (what a lone training does in the app);
- threads / processes: a sweep through the job queue with `slots` trainings at once;
- ray: an embedded Ray started with num_cpus=slots (its start measured apart), then the sweep.
Reported per mode: wall time, the speed-up over sequential, overhead per trial ((wall x slots -
the trials' own training seconds) / trials: what a slot spends not training), and the peak
resident memory of the process and all its descendants (workers, Ray's daemons), sampled every
0.2 s from /proc. Measures; asserts nothing. Times swing on a shared machine: compare ratios.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("sequential", "sequential-auto", "threads", "processes", "ray")
SETTINGS = {"lr": "0.001,0.003,0.01", "channels": "8,16", "epochs": "40", "patience": "0"}
N_SEEDS = 2

CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path

def tree_rss_mb():
    # The resident memory of this process and every descendant (workers, Ray's daemons), in MB.
    children, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total

peak, done = [0.0], threading.Event()
def sample():
    while not done.wait(0.2):
        peak[0] = max(peak[0], tree_rss_mb())
threading.Thread(target=sample, daemon=True).start()

mode, slots, settings, n_seeds = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
from nnapps.store.runs import RunStore
from nnapps.sweeps.plan import Sweep, trials
sweep = Sweep.make("digits", ["cnn"], settings, n_seeds)
store, started = RunStore(), 0.0
t0 = time.perf_counter()
if mode.startswith("sequential"):
    from nnapps.training.pipeline import train_run
    from nnapps.data import load_dataset
    dataset = load_dataset("digits", 0)
    threads = None if mode == "sequential-auto" else 1
    runs = [train_run(t.config, store, dataset, threads=threads) for t in trials(sweep)]
    states = [r.status for r in runs]
    wall = time.perf_counter() - t0
else:
    from nnapps.execution.jobs import JobQueue
    from nnapps.sweeps.jobs import SweepRunner
    if mode == "ray":
        from nnapps.execution.ray_backend import RayBackend
        backend = RayBackend("local", num_cpus=slots)
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
    else:
        backend = mode
    queue = JobQueue(store, slots, backend)
    status = SweepRunner(queue).run(sweep, timeout=3600)
    runs = [t.run for t in status.trials if t.run is not None]
    states = [t.state for t in status.trials]
    wall = time.perf_counter() - t0
    queue.close()
done.set()
peak[0] = max(peak[0], tree_rss_mb())
print(json.dumps({"mode": mode, "slots": 1 if mode.startswith("sequential") else slots, "wall_s": wall,
                  "start_s": started, "train_s": sum(r.metrics["train_seconds"] for r in runs),
                  "trials": len(states), "states": sorted(set(states)), "peak_mb": peak[0]}))
"""


def measure(mode: str, slots: int, settings: dict, n_seeds: int) -> dict:
    """One mode in a fresh process on a fresh store: its figures."""
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as data:
        env = {"NNAPPS_HOME": home, "NNAPPS_DATA_DIR": data, "PYTHONPATH": str(ROOT),
               "RAY_USAGE_STATS_ENABLED": "0"}
        out = subprocess.run([sys.executable, "-c", CHILD, mode, str(slots), json.dumps(settings), str(n_seeds)],
                             env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["overhead_per_trial_s"] = (result["wall_s"] * result["slots"] - result["train_s"]) / result["trials"]
    return result


def run(quick: bool = False, slots: int = 2, modes=MODES, log=print) -> dict:
    """{mode: figures}, with each mode's speed-up over sequential. quick: a 4-trial sweep."""
    settings = {**SETTINGS, "lr": "0.003,0.01"} if quick else SETTINGS
    n_seeds = 1 if quick else N_SEEDS
    results = {}
    for mode in modes:
        log(f"sweep through {mode} ...")
        try:
            results[mode] = measure(mode, slots, settings, n_seeds)
        except subprocess.CalledProcessError as exc:  # Ray not installed, say: the others still count
            last = exc.stderr.strip().splitlines()[-1] if exc.stderr and exc.stderr.strip() else ""
            results[mode] = {"error": f"exit status {exc.returncode}" + (f": {last}" if last else "")}
        log(f"  {results[mode]}")
    base = results.get("sequential", {}).get("wall_s")
    for figures in results.values():
        if base and "wall_s" in figures:
            figures["speedup_vs_sequential"] = base / figures["wall_s"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 trials instead of 12")
    parser.add_argument("--slots", type=int, default=2, help="trainings at once (and Ray's CPUs)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"a comma-separated subset of {MODES}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.quick, args.slots, [m for m in args.modes.split(",") if m],
                  log=lambda msg: print(msg, file=sys.stderr))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for mode, f in results.items():
            if "error" in f:
                print(f"{mode:10}  error: {f['error']}")
                continue
            print(f"{mode:10}  wall {f['wall_s']:6.1f} s  x{f.get('speedup_vs_sequential', float('nan')):.2f}  "
                  f"overhead/trial {f['overhead_per_trial_s']:5.2f} s  peak {f['peak_mb']:6.0f} MB"
                  + (f"  (Ray start {f['start_s']:.1f} s)" if f["start_s"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
