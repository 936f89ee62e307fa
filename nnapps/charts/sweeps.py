"""A sweep's results as a table and Altair charts (pure: results in, frame or chart out).

The parallel-coordinates chart puts each setting on its own vertical axis, its values spread
evenly in order (a log range reads evenly, a choice keeps its order), with validation accuracy
as the last axis; one line per config, coloured by that accuracy.
"""

from nnapps.sweeps.plan import ConfigResult

METRIC = "validation accuracy"


def results_frame(results: list[ConfigResult], settings: list[str]):
    """One row per config: model, its settings, mean ± std over seeds (validation, test), seeds."""
    import pandas as pd

    rows = []
    for r in results:
        rows.append({"model": r.family, **{s: r.settings.get(s) for s in settings},
                     "val mean": r.val_mean, "val std": r.val_std, "test mean": r.test_mean,
                     "test std": r.test_std, "seeds": r.n_seeds})
    return pd.DataFrame(rows, columns=["model", *settings, "val mean", "val std", "test mean", "test std", "seeds"])


def _positions(values: list) -> dict:
    """Each distinct value's place on its axis, 0 to 1, in sorted order (numbers by size)."""
    distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))
    if len(distinct) == 1:
        return {distinct[0]: 0.5}
    return {v: i / (len(distinct) - 1) for i, v in enumerate(distinct)}


def parallel_coordinates(results: list[ConfigResult], settings: list[str]):
    """Settings (and the model, when several) against mean validation accuracy, one line per config."""
    import altair as alt
    import pandas as pd

    scored = [r for r in results if r.val_mean is not None]
    axes = (["model"] if len({r.family for r in scored}) > 1 else []) + list(settings)
    values = {a: [r.family if a == "model" else r.settings.get(a, "-") for r in scored] for a in axes}
    places = {a: _positions(v) for a, v in values.items()}
    lo, hi = min((r.val_mean for r in scored), default=0.0), max((r.val_mean for r in scored), default=1.0)
    rows = []
    for i, r in enumerate(scored):
        for a in axes:
            rows.append({"config": i, "axis": a, "place": places[a][values[a][i]], "value": str(values[a][i]),
                         METRIC: r.val_mean})
        rows.append({"config": i, "axis": METRIC, "place": (r.val_mean - lo) / (hi - lo) if hi > lo else 0.5,
                     "value": f"{r.val_mean:.2%}", METRIC: r.val_mean})
    frame = pd.DataFrame(rows, columns=["config", "axis", "place", "value", METRIC])
    order = [*axes, METRIC]
    x = alt.X("axis:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top"))
    y = alt.Y("place:Q", axis=None, scale=alt.Scale(domain=[-0.05, 1.05]))
    color = alt.Color(f"{METRIC}:Q", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(format=".0%"))
    lines = alt.Chart(frame).mark_line(opacity=0.8).encode(x=x, y=y, color=color, detail="config:N")
    ticks = alt.Chart(frame).mark_text(align="left", dx=4, fontSize=10).encode(
        x=x, y=y, text="value:N").transform_aggregate(value="min(value)", groupby=["axis", "place"])
    points = alt.Chart(frame).mark_point(filled=True, size=30).encode(
        x=x, y=y, color=color, tooltip=["axis:N", "value:N", alt.Tooltip(f"{METRIC}:Q", format=".2%")])
    return (lines + points + ticks).properties(title="Settings against validation accuracy", height=320)


def accuracy_by_setting(results: list[ConfigResult], settings: list[str]):
    """Mean validation accuracy (with its spread over seeds) against each setting, one panel each."""
    import altair as alt
    import pandas as pd

    rows = []
    for r in results:
        if r.val_mean is None:
            continue
        for s in settings:
            std = r.val_std or 0.0
            rows.append({"setting": s, "value": str(r.settings.get(s, "-")), "model": r.family, METRIC: r.val_mean,
                         "low": r.val_mean - std, "high": r.val_mean + std})
    frame = pd.DataFrame(rows, columns=["setting", "value", "model", METRIC, "low", "high"])
    base = alt.Chart().encode(x=alt.X("value:N", title=None, sort=None))
    panel = alt.layer(
        base.mark_rule().encode(y=alt.Y("low:Q", title=METRIC, axis=alt.Axis(format=".0%")), y2="high:Q",
                                color="model:N"),
        base.mark_point(filled=True, size=50).encode(y=f"{METRIC}:Q", color="model:N",
                                                     tooltip=["model:N", "value:N",
                                                              alt.Tooltip(f"{METRIC}:Q", format=".2%")]),
        data=frame,
    ).properties(width=180, height=200)
    return panel.facet(column=alt.Column("setting:N", title=None)).resolve_scale(x="independent").properties(
        title="Validation accuracy against each setting (mean ± std over seeds)")
