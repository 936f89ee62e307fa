"""The job list on disk: a jobs table beside the runs, so a server's crash leaves a trace.

Each row names the server process that took the job. A new queue marks the queued and running
jobs of servers that are no longer alive as interrupted; the pages list those, to start again
or dismiss. Only the server's queue writes here, never a worker.
"""

import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from nnapps.store.runs import EVERYONE, RunConfig

_JOBS_SQL = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    config TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    submitted REAL NOT NULL,
    server TEXT NOT NULL
)
"""
UNFINISHED = ("queued", "running")
# Settled by a person: an interrupted job started again or dismissed. Not shown any more.
SETTLED = ("restarted", "dismissed")
# Finished rows kept; older ones are deleted (their runs stay in the store).
_KEEP_ROWS = 2000


@dataclass(frozen=True)
class JobRow:
    job_id: int
    config: RunConfig
    owner: str
    state: str
    message: str
    submitted: float


def server_token(pid: int | None = None) -> str:
    """This process as a row names it: its id and its start time (ids are reused)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_started(pid)}"


def _started(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime, after the command name


def is_alive(token: str) -> bool:
    pid_text, _, started = token.partition(":")
    pid = int(pid_text)
    if Path("/proc/self/stat").exists():
        return bool(started) and _started(pid) == started
    try:  # no /proc (macOS): the id alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobJournal:
    """The jobs table in the run store's SQLite database (WAL, shared with the runs)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        with closing(self._connect()) as con, con:
            con.execute(_JOBS_SQL)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def add(self, config: RunConfig, owner: str, server: str) -> int:
        with closing(self._connect()) as con, con:
            job_id = con.execute(
                "INSERT INTO jobs (run_id, config, owner, state, message, submitted, server) "
                "VALUES (?,?,?,?,?,?,?)", (config.run_id, json.dumps(config.to_dict()), owner, "queued",
                                           "", time.time(), server)).lastrowid
            con.execute(f"DELETE FROM jobs WHERE state NOT IN ({_marks(UNFINISHED + ('interrupted',))}) "
                        "AND job_id <= ?", (*UNFINISHED, "interrupted", job_id - _KEEP_ROWS))
        return int(job_id)

    def set_state(self, job_id: int, state: str, message: str = "") -> None:
        with closing(self._connect()) as con, con:
            con.execute("UPDATE jobs SET state = ?, message = ? WHERE job_id = ?", (state, message, job_id))

    def recover(self) -> list[int]:
        """Mark the unfinished jobs of servers no longer alive as interrupted; their ids."""
        with closing(self._connect()) as con, con:
            rows = con.execute(f"SELECT job_id, state, server FROM jobs WHERE state IN ({_marks(UNFINISHED)})",
                               UNFINISHED).fetchall()
            dead = [(job_id, state) for job_id, state, server in rows if not is_alive(server)]
            for job_id, state in dead:
                con.execute("UPDATE jobs SET state = 'interrupted', message = ? WHERE job_id = ?",
                            (f"{state} when the server stopped", job_id))
        return [job_id for job_id, _ in dead]

    def interrupted(self, visitor: str) -> list[JobRow]:
        """The interrupted jobs visitor may start again: theirs and everyone's, oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT job_id, config, owner, state, message, submitted FROM jobs "
                               "WHERE state = 'interrupted' AND owner IN (?, ?) ORDER BY job_id",
                               (visitor, EVERYONE)).fetchall()
        return [JobRow(job_id, RunConfig.from_dict(json.loads(config)), owner, state, message, submitted)
                for job_id, config, owner, state, message, submitted in rows]

    def settle(self, job_id: int, visitor: str, state: str) -> JobRow | None:
        """Mark visitor's interrupted job restarted or dismissed; the row, or None if it is not one."""
        if state not in SETTLED:
            raise ValueError(f"state must be one of {SETTLED}, got {state!r}")
        found = [row for row in self.interrupted(visitor) if row.job_id == job_id]
        if not found:
            return None
        with closing(self._connect()) as con, con:
            changed = con.execute("UPDATE jobs SET state = ? WHERE job_id = ? AND state = 'interrupted'",
                                  (state, job_id)).rowcount
        return found[0] if changed else None


def _marks(values: tuple) -> str:
    return ",".join("?" * len(values))
