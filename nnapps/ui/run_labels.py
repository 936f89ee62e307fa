"""Names and colours for runs in pickers, lists and legends, the same on every page."""

from dataclasses import dataclass

import pandas as pd

from nnapps.charts.colours import run_colours
from nnapps.store.runs import Run


def unique_labels(all_runs: list[Run]) -> dict[str, str]:
    """run_id -> label, with the id appended where two runs would read the same."""
    counts = pd.Series([r.label for r in all_runs]).value_counts()
    return {r.run_id: r.label if counts[r.label] == 1 else f"{r.label} [{r.run_id[:6]}]" for r in all_runs}


@dataclass(frozen=True)
class RunLooks:
    """How runs are named and coloured: labels and colours by run id, made from every stored run
    of a dataset a visitor sees (oldest first, as RunStore.list_runs gives them), so a page that
    shows only some of them (complete ones, neural networks) still names and colours each as
    every other page does."""

    labels: dict[str, str]
    colours: dict[str, str]

    @classmethod
    def of(cls, all_runs: list[Run], pending: list[str] = ()) -> "RunLooks":
        """pending: ids of runs being trained, not stored yet; they take the next places, in
        order (as they will when stored, unless trainings finish out of order), and no label."""
        ordered = sorted(all_runs, key=lambda r: r.created)
        places = [r.run_id for r in ordered]
        stored = set(places)
        places += [i for i in dict.fromkeys(pending) if i not in stored]
        return cls(unique_labels(ordered), run_colours(places))

    def by_label(self, run_ids) -> dict[str, str]:
        """label -> colour for these runs: what a chart builder's colours parameter takes."""
        return {self.labels[i]: self.colours[i] for i in run_ids}
