"""Jobs a server's crash interrupted: kept on disk, shown as interrupted, started again or dismissed."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnapps.execution.journal import JobJournal, is_alive, server_token
from nnapps.gpt.runs import gpt_config
from nnapps.execution.jobs import JobQueue
from nnapps.store.runs import EVERYONE, RunConfig, RunStore
from nnapps.ui import services, state

ROOT = Path(__file__).resolve().parents[1]
WAIT = 120
ANN, BOB = "a" * 32, "b" * 32
DEAD = "999999999:0"  # a server token no live process has (beyond any pid_max)
QUICK = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 1, "seed": 1})
SLOW = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 200, "batch_size": 4, "patience": 0})

# A server that takes two jobs, says so once the first has trained an epoch, and waits to be killed.
SERVER = f"""
import sys, threading
from nnapps.execution.jobs import JobQueue
from nnapps.store.runs import RunConfig, RunStore
queue = JobQueue(RunStore(sys.argv[1]), 1, "threads")
slow = queue.submit(RunConfig.from_dict({SLOW.to_dict()!r}), owner={ANN!r})
queue.submit(RunConfig.from_dict({QUICK.to_dict()!r}), owner={ANN!r})
queue.wait_for(slow, lambda job: len(job.epochs) >= 1, timeout={WAIT})
print("training", flush=True)
threading.Event().wait()
"""


def test_server_tokens_tell_a_live_process_from_a_dead_one():
    assert is_alive(server_token())
    assert not is_alive(DEAD)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not is_alive(f"{ended.stdout.strip()}:1")


def test_a_killed_servers_jobs_are_interrupted_and_can_start_again(tmp_path):
    root = tmp_path / "store"
    RunStore(root)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(root)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    try:
        assert server.stdout.readline().strip() == "training"
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    store = RunStore(root)
    queue = JobQueue(store, 1, "threads")
    jobs = queue.interrupted(ANN)
    assert [(j.config, j.state, j.message) for j in jobs] == [
        (SLOW, "interrupted", "running when the server stopped"),
        (QUICK, "interrupted", "queued when the server stopped")]
    assert queue.interrupted(BOB) == []  # another visitor's jobs are not theirs to see
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert store.get(SLOW.run_id) is None and store.get(QUICK.run_id) is None

    assert queue.restart(jobs[1].job_id, BOB) is None  # not Bob's
    again = queue.restart(jobs[1].job_id, ANN)
    assert queue.wait([again], timeout=WAIT)[0].state == "done"
    assert store.owned(ANN) == {QUICK.run_id}
    assert queue.dismiss(jobs[0].job_id, ANN)
    assert queue.interrupted(ANN) == []
    assert JobQueue(store, 1, "threads").interrupted(ANN) == []  # settled for good
    queue.close()


def test_a_live_servers_jobs_are_not_interrupted(tmp_path):
    store = RunStore(tmp_path)
    first = JobQueue(store, 1, "threads")
    job = first.submit(SLOW, owner=ANN)
    first.wait_for(job, lambda s: s.state == "running", timeout=WAIT)
    second = JobQueue(store, 1, "threads")  # a second server (or the command line) on the same store
    assert second.interrupted(ANN) == []
    first.stop(job)
    assert first.wait([job], timeout=WAIT)[0].state == "stopped"
    first.close()
    second.close()


@pytest.fixture
def fresh(monkeypatch):
    """An empty store and queue for the page, on the thread executor (nothing to start)."""
    monkeypatch.setenv("NNAPPS_EXECUTOR", "threads")
    st.cache_resource.clear()
    yield RunStore()
    st.cache_resource.clear()  # releases the queue: it closes


def buttons(at: AppTest, label: str) -> list:
    return [b for b in at.button if b.label == label]


def test_the_train_page_lists_interrupted_jobs_and_trains_one_again(fresh):
    journal = JobJournal(fresh.db_path)
    mine = journal.add(QUICK, EVERYONE, DEAD)  # an example: anyone may start it again
    bobs = RunConfig.make("digits", "cnn", train={"epochs": 1})
    journal.add(bobs, BOB, DEAD)  # another visitor's
    journal.set_state(mine, "running")
    at = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=WAIT).run()
    assert not at.exception
    shown = [t.value for t in at.text]
    assert f"{QUICK.label()} on digits: running when the server stopped" in shown
    assert not any(bobs.label() in t for t in shown)
    assert any("1 training was queued or running when the server stopped" in m.value for m in at.markdown)
    buttons(at, "Train again")[0].click().run()
    assert not at.exception
    [job_id] = at.session_state[state.JOBS]
    assert services.get_queue().wait([job_id], timeout=WAIT)[0].state == "done"
    at.run()
    assert not buttons(at, "Train again")
    assert fresh.get(QUICK.run_id).status == "complete"


def test_the_gpt_page_lists_an_interrupted_training_and_dismisses_it(fresh):
    config = gpt_config("builtin", {"n_layers": 2, "n_heads": 2, "width": 32, "context": 16}, {"steps": 5})
    JobJournal(fresh.db_path).add(config, EVERYONE, DEAD)
    at = AppTest.from_file(str(ROOT / "pages/gpt.py"), default_timeout=WAIT).run()
    assert not at.exception
    assert f"{config.label()} on corpus:builtin: queued when the server stopped" in [t.value for t in at.text]
    buttons(at, "Dismiss")[0].click().run()
    assert not at.exception
    assert not buttons(at, "Dismiss") and not buttons(at, "Train again")
    assert services.get_queue().interrupted(EVERYONE) == []
