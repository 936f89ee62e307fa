"""Sweeps on the job queue: each trial a job, the sweep and its trials' states kept in the store's SQLite.

Starting a sweep answers every trial already stored at once and submits the rest to the queue
(which trains them on its executor and alone writes the store). The sweeps and sweep_trials
tables sit beside the runs and the jobs, so a sweep outlives a reload and a server restart:
starting the same definition again (for the same owner) resumes it, training only what is
missing. A trial that fails (a bad setting, a worker killed) is recorded with its message and
the others go on. Stopping a sweep stops its jobs; what is stored stays.
"""

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from nnapps import limits
from nnapps.execution.jobs import JobQueue
from nnapps.limits import LimitExceeded
from nnapps.store.runs import EVERYONE, Run
from nnapps.sweeps.plan import ConfigResult, Sweep, Trial, summarize, trials

_SWEEPS_SQL = """
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    definition TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL
)
"""
_TRIALS_SQL = """
CREATE TABLE IF NOT EXISTS sweep_trials (
    sweep_id TEXT NOT NULL,
    trial INTEGER NOT NULL,
    run_id TEXT,
    job_id INTEGER,
    state TEXT NOT NULL,
    error TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sweep_id, trial)
)
"""
SWEEP_STATES = ("running", "stopped", "done")
TRIAL_STATES = ("queued", "running", "done", "stopped", "failed", "interrupted")
_UNFINISHED = ("queued", "running")


class SweepBook:
    """The sweeps and sweep_trials tables in the run store's database."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        with closing(self._connect()) as con, con:
            con.execute(_SWEEPS_SQL)
            con.execute(_TRIALS_SQL)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def open(self, sweep_id: str, owner: str, sweep: Sweep) -> None:
        with closing(self._connect()) as con, con:
            con.execute("INSERT INTO sweeps (sweep_id, owner, definition, state, created) VALUES (?,?,?,?,?) "
                        "ON CONFLICT (sweep_id) DO UPDATE SET state = 'running'",
                        (sweep_id, owner, json.dumps(sweep.to_dict(), default=str), "running", time.time()))

    def set_state(self, sweep_id: str, state: str) -> None:
        with closing(self._connect()) as con, con:
            con.execute("UPDATE sweeps SET state = ? WHERE sweep_id = ?", (state, sweep_id))

    def set_trial(self, sweep_id: str, trial: Trial, state: str, job_id: int | None = None,
                  error: str | None = None, cached: bool = False) -> None:
        run_id = trial.config.run_id if trial.config is not None else None
        with closing(self._connect()) as con, con:
            con.execute("INSERT OR REPLACE INTO sweep_trials (sweep_id, trial, run_id, job_id, state, error, cached) "
                        "VALUES (?,?,?,?,?,?,?)", (sweep_id, trial.index, run_id, job_id, state, error, int(cached)))

    def sweep(self, sweep_id: str) -> tuple[Sweep, str, str, float] | None:
        """(sweep, owner, state, created), or None."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT definition, owner, state, created FROM sweeps WHERE sweep_id = ?",
                              (sweep_id,)).fetchone()
        return None if row is None else (Sweep.from_dict(json.loads(row[0])), row[1], row[2], row[3])

    def trial_rows(self, sweep_id: str) -> dict[int, tuple]:
        """trial index -> (job_id, state, error, cached)."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT trial, job_id, state, error, cached FROM sweep_trials WHERE sweep_id = ?",
                               (sweep_id,)).fetchall()
        return {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in rows}

    def listing(self, visitor: str) -> list[tuple[str, Sweep, str, float]]:
        """visitor's sweeps and everyone's, newest first: (sweep_id, sweep, state, created)."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT sweep_id, definition, state, created FROM sweeps WHERE owner IN (?, ?) "
                               "ORDER BY created DESC", (visitor, EVERYONE)).fetchall()
        return [(r[0], Sweep.from_dict(json.loads(r[1])), r[2], r[3]) for r in rows]


@dataclass
class TrialStatus:
    trial: Trial
    state: str
    error: str | None = None
    cached: bool = False  # answered from the store, not trained by this sweep
    run: Run | None = None  # a complete or stopped run, once stored


@dataclass
class SweepStatus:
    sweep_id: str
    sweep: Sweep
    owner: str
    state: str
    trials: list[TrialStatus]

    def counts(self) -> dict[str, int]:
        """Trials per state, every state present (zero included)."""
        return {s: sum(t.state == s for t in self.trials) for s in TRIAL_STATES}

    @property
    def results(self) -> list[ConfigResult]:
        """Per config, mean and std over its seeds, best first (see sweeps.summarize)."""
        return summarize([t.trial for t in self.trials], {t.run.run_id: t.run for t in self.trials if t.run})

    @property
    def best(self) -> ConfigResult | None:
        results = self.results
        return results[0] if results else None


class SweepRunner:
    """Starts, watches, stops and resumes sweeps on a job queue (and so on its executor)."""

    def __init__(self, queue: JobQueue):
        self.queue = queue
        self.store = queue.store
        self.book = SweepBook(self.store.db_path)

    def start(self, sweep: Sweep, owner: str = EVERYONE) -> str:
        """Record sweep for owner and queue its missing trials; its id. Starting a sweep again
        resumes it. Raises ValueError for a dataset or family that does not exist, LimitExceeded for
        more trials than limits.SWEEP_TRIALS."""
        sweep_trials = trials(sweep)
        limits.check(limits.SWEEP_TRIALS, len(sweep_trials))
        sweep_id = sweep.sweep_id(owner)
        self.book.open(sweep_id, owner, sweep)
        for trial in sweep_trials:
            if trial.config is None:
                self.book.set_trial(sweep_id, trial, "failed", error=trial.error)
                continue
            stored = self.store.get(trial.config.run_id)
            if stored is not None and stored.status == "complete":
                self.store.claim(stored.run_id, owner)
                self.book.set_trial(sweep_id, trial, "done", cached=True)
                continue
            try:
                job_id = self.queue.submit(trial.config, owner)
            except (LimitExceeded, RuntimeError) as exc:  # over a visitor's runs; a closed queue
                self.book.set_trial(sweep_id, trial, "failed", error=str(exc))
                continue
            self.book.set_trial(sweep_id, trial, "queued", job_id=job_id)
        return sweep_id

    def status(self, sweep_id: str) -> SweepStatus:
        """Where every trial of the sweep stands; finished jobs' states are written down as they are seen."""
        found = self.book.sweep(sweep_id)
        if found is None:
            raise ValueError(f"no sweep {sweep_id!r}")
        sweep, owner, sweep_state, _ = found
        rows = self.book.trial_rows(sweep_id)
        out = []
        for trial in trials(sweep):
            job_id, state, error, cached = rows.get(trial.index, (None, "interrupted", None, False))
            if state in _UNFINISHED:
                job = self.queue.snapshot(job_id) if job_id is not None else None
                if job is None:  # a queue that is not the one it was queued on (a restart)
                    stored = self.store.get(trial.config.run_id)
                    state = "done" if stored is not None and stored.status == "complete" else "interrupted"
                    self.book.set_trial(sweep_id, trial, state, job_id)
                elif job.finished:
                    state, error = job.state, job.error
                    self.book.set_trial(sweep_id, trial, state, job_id, error)
                else:
                    state = job.state
            run = self.store.get(trial.config.run_id) if state in ("done", "stopped") else None
            out.append(TrialStatus(trial, state, error, cached, run))
        if sweep_state == "running" and not any(t.state in _UNFINISHED for t in out):
            sweep_state = "done" if all(t.state in ("done", "failed") for t in out) else "stopped"
            self.book.set_state(sweep_id, sweep_state)
        return SweepStatus(sweep_id, sweep, owner, sweep_state, out)

    def stop(self, sweep_id: str) -> None:
        """Stop the sweep's jobs: queued ones never start, running ones end after their step
        (kept as stopped runs, trained again when the sweep resumes)."""
        for job_id, state, _, _ in self.book.trial_rows(sweep_id).values():
            if state in _UNFINISHED and job_id is not None:
                self.queue.stop(job_id)
        self.book.set_state(sweep_id, "stopped")

    def wait(self, sweep_id: str, timeout: float = 3600.0) -> SweepStatus:
        """Block until none of the sweep's trials is queued or training (command line, tests)."""
        job_ids = [job_id for job_id, state, _, _ in self.book.trial_rows(sweep_id).values()
                   if state in _UNFINISHED and job_id is not None]
        self.queue.wait(job_ids, timeout)
        return self.status(sweep_id)

    def run(self, sweep: Sweep, owner: str = EVERYONE, timeout: float = 3600.0) -> SweepStatus:
        """Start (or resume) sweep and wait for it."""
        return self.wait(self.start(sweep, owner), timeout)

    def listing(self, visitor: str) -> list[tuple[str, Sweep, str, float]]:
        return self.book.listing(visitor)
