"""A copy shared by strangers: whose runs are whose, how many a visitor keeps, and what goes first."""

import sqlite3
import time
from contextlib import closing

import pytest

from nnapps import limits
from nnapps.store.bundles import export_bundle, import_bundle
from nnapps.execution.jobs import JobQueue
from nnapps.training.pipeline import train_run
from nnapps.store.retention import DAY, check_room, evict
from nnapps.store.runs import EVERYONE, RunStore
from test_jobs import quick
from test_runs import fake_run

ANN, BOB = "a" * 32, "b" * 32


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def ids(runs) -> set[str]:
    return {r.run_id for r in runs}


def put(store: RunStore, i: int, owner: str = EVERYONE):
    run, weights = fake_run(0, i)
    store.put(run, weights, owner)
    return run


def age(store: RunStore, visitor: str, days: float) -> None:
    """Pretend visitor last used their runs days ago."""
    with closing(sqlite3.connect(store.db_path)) as con, con:
        con.execute("UPDATE owners SET used = ? WHERE visitor = ?", (time.time() - days * DAY, visitor))


def test_a_visitor_sees_their_runs_and_the_examples_not_anothers(store):
    example, anns, bobs = put(store, 1), put(store, 2, ANN), put(store, 3, BOB)
    assert ids(store.list_runs("digits", visitor=ANN)) == {example.run_id, anns.run_id}
    assert ids(store.list_runs("digits", visitor=BOB)) == {example.run_id, bobs.run_id}
    assert ids(store.list_runs("digits")) == {example.run_id, anns.run_id, bobs.run_id}
    assert store.owned(ANN) == {anns.run_id} and store.owned(EVERYONE) == {example.run_id}


def test_one_run_wanted_by_two_visitors_goes_when_the_last_lets_go(store):
    run = put(store, 1, ANN)
    store.claim(run.run_id, BOB)
    assert store.owners(run.run_id) == {ANN, BOB}
    assert store.disown(run.run_id, ANN)
    assert ids(store.list_runs(visitor=BOB)) == {run.run_id} and not store.list_runs(visitor=ANN)
    assert not store.disown(run.run_id, ANN)  # no longer Ann's
    assert store.disown(run.run_id, BOB)
    assert store.get(run.run_id) is None
    assert not list(store.files.iterdir())  # its results and weights went with it


def test_a_visitor_cannot_delete_an_example(store):
    example = put(store, 1)
    assert not store.disown(example.run_id, ANN)
    assert store.get(example.run_id) is not None


def test_runs_of_a_store_from_before_owners_are_everyones(tmp_path):
    store = RunStore(tmp_path / "store")
    run = put(store, 1, ANN)
    with closing(sqlite3.connect(store.db_path)) as con, con:
        con.execute("DROP TABLE owners")
    reopened = RunStore(tmp_path / "store")
    assert reopened.owners(run.run_id) == {EVERYONE}
    assert ids(reopened.list_runs(visitor=BOB)) == {run.run_id}
    # Adopted once: a run let go later is not adopted again by the next opening.
    reopened.claim(run.run_id, ANN)
    reopened.disown(run.run_id, EVERYONE)
    assert RunStore(tmp_path / "store").owners(run.run_id) == {ANN}


def test_a_local_copy_removes_nothing_of_its_users(store, monkeypatch):
    """Issue 15: without NNAPPS_PUBLIC, a run left for years and a store of any size stay."""
    monkeypatch.delenv("NNAPPS_PUBLIC", raising=False)
    runs = [put(store, i, ANN) for i in range(3)]
    age(store, ANN, 10_000)
    assert evict(store) == [] and ids(store.list_runs()) == ids(runs)
    check_room(store, ANN, [fake_run(0, i)[0].run_id for i in range(10, 1010)])  # a thousand more


def test_a_public_copy_evicts_and_limits_by_its_public_defaults(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    for name in ("NNAPPS_MAX_RUN_AGE_DAYS", "NNAPPS_MAX_STORE_MB", "NNAPPS_MAX_RUNS_PER_VISITOR"):
        monkeypatch.delenv(name, raising=False)
    old, recent = put(store, 1, ANN), put(store, 2, BOB)
    age(store, ANN, 31)
    assert evict(store) == [old.run_id] and ids(store.list_runs()) == {recent.run_id}
    with pytest.raises(limits.LimitExceeded, match=r"you would keep 101 runs here; this copy allows at most "
                                                   r"100 \(NNAPPS_MAX_RUNS_PER_VISITOR\)"):
        check_room(store, BOB, [fake_run(0, i)[0].run_id for i in range(10, 110)])


def test_runs_nobody_came_back_to_are_evicted_examples_stay(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUN_AGE_DAYS", "30")
    example, old, shared, recent = put(store, 1), put(store, 2, ANN), put(store, 3, ANN), put(store, 4, BOB)
    store.claim(shared.run_id, BOB)
    age(store, ANN, 31)
    age(store, EVERYONE, 400)
    assert sorted(evict(store)) == [old.run_id]
    assert store.get(old.run_id) is None
    assert ids(store.list_runs()) == {example.run_id, shared.run_id, recent.run_id}
    assert store.owners(shared.run_id) == {BOB}  # Ann's claim lapsed, Bob's holds it


def test_a_visitor_who_comes_back_keeps_their_runs(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUN_AGE_DAYS", "30")
    run = put(store, 1, ANN)
    age(store, ANN, 31)
    store.touch(ANN)
    assert evict(store) == []
    assert store.get(run.run_id) is not None


def test_a_full_store_evicts_the_least_recently_used_first(store, monkeypatch):
    example = put(store, 0)
    runs = [put(store, i, visitor) for i, visitor in ((1, ANN), (2, BOB), (3, ANN))]
    for run, days in zip(runs, (3, 1, 2)):
        with closing(sqlite3.connect(store.db_path)) as con, con:
            con.execute("UPDATE owners SET used = ? WHERE item = ?", (time.time() - days * DAY, run.run_id))
    sizes = {u.run_id: u.bytes for u in store.usage()}
    assert all(size > 0 for size in sizes.values()) and len(sizes) == 4
    # Room for the example and two more runs: the one unused for 3 days goes.
    cap = sizes[example.run_id] + sizes[runs[1].run_id] + sizes[runs[2].run_id]
    monkeypatch.setenv("NNAPPS_MAX_STORE_MB", str(cap / 2**20))
    assert evict(store) == [runs[0].run_id]
    # Room for the example alone: every visitor's run goes, the example stays.
    monkeypatch.setenv("NNAPPS_MAX_STORE_MB", str(sizes[example.run_id] / 2**20))
    assert evict(store) == [runs[2].run_id, runs[1].run_id]
    assert ids(store.list_runs()) == {example.run_id}
    monkeypatch.setenv("NNAPPS_MAX_STORE_MB", "0.000001")
    assert evict(store) == [] and store.get(example.run_id) is not None


def test_a_visitor_keeps_at_most_their_limit(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUNS_PER_VISITOR", "2")
    first, second = put(store, 1, ANN), put(store, 2, ANN)
    third, _ = fake_run(0, 3)
    with pytest.raises(limits.LimitExceeded, match=r"you would keep 3 runs here; this copy allows at "
                                                   r"most 2 \(NNAPPS_MAX_RUNS_PER_VISITOR\), because"):
        check_room(store, ANN, [third.run_id])
    check_room(store, ANN, [first.run_id])  # a run of theirs takes no more room
    check_room(store, BOB, [third.run_id])  # another visitor has their own room
    check_room(store, EVERYONE, [third.run_id] * 5)  # the examples have no such limit
    with pytest.raises(limits.LimitExceeded):
        check_room(store, BOB, [third.run_id], waiting=2)  # runs still training count too
    store.disown(second.run_id, ANN)
    check_room(store, ANN, [third.run_id])


def test_the_queue_trains_for_its_visitor_and_refuses_past_the_limit(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUNS_PER_VISITOR", "2")
    queue = JobQueue(store, max_running=1)
    first, second = queue.submit(quick(1), owner=ANN), queue.submit(quick(2), owner=ANN)
    with pytest.raises(limits.LimitExceeded, match="NNAPPS_MAX_RUNS_PER_VISITOR"):
        queue.submit(quick(3), owner=ANN)  # two are still in the queue: they count
    shared = queue.submit(quick(1), owner=BOB)  # the same config: one job, the run for both
    assert shared == first
    queue.wait([first, second], timeout=60)
    assert store.owned(ANN) == {quick(1).run_id, quick(2).run_id}
    assert store.owned(BOB) == {quick(1).run_id}
    assert ids(store.list_runs(visitor=EVERYONE)) == set()  # none of them is an example
    with pytest.raises(limits.LimitExceeded):
        queue.submit(quick(3), owner=ANN)
    again = queue.submit(quick(2), owner=ANN)  # a run they have: returned at once, no room needed
    assert queue.wait([again], timeout=30)[0].state == "done"


def test_an_imported_bundle_is_the_importers_within_their_limit(store, tmp_path, monkeypatch):
    source = RunStore(tmp_path / "elsewhere")
    trained = train_run(quick(5), source)
    data = export_bundle(source, trained)
    imported = import_bundle(store, data, owner=ANN).run_id
    assert store.owned(ANN) == {imported}
    assert import_bundle(store, data, owner=BOB).run_id == imported  # stored: now Bob's too
    assert store.owners(imported) == {ANN, BOB}
    monkeypatch.setenv("NNAPPS_MAX_RUNS_PER_VISITOR", "1")
    put(store, 1, "c" * 32)
    with pytest.raises(limits.LimitExceeded, match="NNAPPS_MAX_RUNS_PER_VISITOR"):
        import_bundle(store, data, owner="c" * 32)


def test_inf_turns_eviction_off(store, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUN_AGE_DAYS", "inf")
    monkeypatch.setenv("NNAPPS_MAX_STORE_MB", "inf")
    run = put(store, 1, ANN)
    age(store, ANN, 10_000)
    assert evict(store) == [] and store.get(run.run_id) is not None
