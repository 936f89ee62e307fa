"""What a copy shared by strangers keeps: a visitor's runs are theirs, within limits.

Every visitor may keep RUNS_PER_VISITOR runs. Runs are removed oldest-used first when nobody
has used them for RUN_AGE_DAYS, or when all stored runs together pass STORE_MB. The examples
(runs everyone owns: the one-click examples, the shipped GPT, runs from the command line) are
never removed; a run several visitors trained goes only when the last of them lets it go.
On a local copy (NNAPPS_PUBLIC unset) the three are infinite: nothing of its user's is removed
unless they set one.
"""

import time

from nnapps import limits
from nnapps.store.runs import EVERYONE, RunStore

DAY = 86_400.0


def check_room(store: RunStore, visitor: str, run_ids: list[str], waiting: int = 0) -> None:
    """Raise LimitExceeded when visitor may not add run_ids to what they keep.

    waiting counts their runs still in the queue, which will be theirs when trained. A run they
    own already takes no more room.
    """
    if visitor == EVERYONE:
        return
    owned = store.owned(visitor)
    new = [r for r in dict.fromkeys(run_ids) if r not in owned]
    kept = len(owned) + waiting + len(new)
    if new and (why := limits.over(limits.RUNS_PER_VISITOR, kept)):
        raise limits.LimitExceeded(f"you would keep {kept:,} runs here; {why}")


def evict(store: RunStore, now: float | None = None) -> list[str]:
    """Remove runs past the age limit, then the least recently used until the store fits its
    size limit; returns the removed run ids."""
    now = time.time() if now is None else now
    removed = store.forget_unused(before=now - limits.RUN_AGE_DAYS.value() * DAY)
    cap = limits.STORE_MB.value() * 2**20
    usage = store.usage()
    total = sum(u.bytes for u in usage)
    for u in sorted((u for u in usage if not u.shared), key=lambda u: u.used):
        if total <= cap:
            break
        store.delete(u.run_id)
        removed.append(u.run_id)
        total -= u.bytes
    return removed
