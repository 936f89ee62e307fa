"""One colour per run on every page: a run's colour comes from its place among its dataset's
stored runs (oldest first), so it is the same on Compare, Inside, the Playground and Train."""

import altair as alt

# Tableau 10 (categorical, told apart by most colour-blind readers), reordered so that runs
# next to each other differ in hue: in its own order the second and third are orange and red.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
           "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac")


def run_colours(run_ids_oldest_first: list[str]) -> dict[str, str]:
    """run_id -> colour, cycling PALETTE by place. A run stored later takes the next place, so
    adding runs leaves every earlier run's colour as it was."""
    return {run_id: PALETTE[i % len(PALETTE)] for i, run_id in enumerate(run_ids_oldest_first)}


def colour_scale(names: list[str], colours: dict[str, str] | None = None) -> alt.Scale:
    """An Altair scale giving each of names its colour from colours (name -> colour); a name it
    lacks (or every name, without colours) takes the palette by its place in names."""
    colours = colours or {}
    return alt.Scale(domain=list(names),
                     range=[colours.get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)])
