"""Names for runs in lists and legends."""

import pandas as pd

from nnapps.store.runs import Run


def unique_labels(all_runs: list[Run]) -> dict[str, str]:
    """run_id -> label, with the id appended where two runs would read the same."""
    counts = pd.Series([r.label for r in all_runs]).value_counts()
    return {r.run_id: r.label if counts[r.label] == 1 else f"{r.label} [{r.run_id[:6]}]" for r in all_runs}
