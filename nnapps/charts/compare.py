"""Altair charts of the Compare page's questions: A minus B, calibration, curves over seeds."""

import altair as alt
import numpy as np
import pandas as pd

from nnapps.charts.results import class_axis, curves_frame, dots, run_colour, split_dash
from nnapps.training.loop import EpochStats


def difference_chart(difference: np.ndarray, class_names: list[str], title: str, normalize: bool = False,
                     size: int = 300, select: str | None = None) -> alt.Chart:
    """Heatmap of confusion(A) - confusion(B) on a diverging scale centred on 0: on the diagonal
    blue means A gets more of that class right; off it, blue means A makes that mistake more."""
    diff = np.asarray(difference, dtype=float)
    df = pd.DataFrame([{"true": class_names[i], "predicted": class_names[j], "difference": diff[i, j],
                        # A correct answer more is good, a mistake more is bad: one colour for "A better".
                        "A better by": diff[i, j] if i == j else -diff[i, j]}
                       for i in range(len(class_names)) for j in range(len(class_names))])
    order = list(class_names)
    reach = max(float(np.abs(diff).max()), 1e-9 if normalize else 1.0)
    fmt = ".0%" if normalize else ("+d" if np.allclose(diff, np.round(diff)) else "+.1f")
    base = alt.Chart(df).encode(x=alt.X("predicted:N", sort=order, axis=class_axis("Predicted", len(order))),
                                y=alt.Y("true:N", sort=order, axis=class_axis("True", len(order))))
    cells = base.mark_rect(stroke="#eeeeee", strokeWidth=0.5).encode(
        color=alt.Color("A better by:Q", scale=alt.Scale(scheme="redblue", domain=[-reach, reach]),
                        legend=alt.Legend(title="blue: A better, red: B better", orient="bottom",
                                          direction="horizontal", format=".0%" if normalize else "d",
                                          gradientLength=size * 0.6)),
        tooltip=["true", "predicted", alt.Tooltip("difference:Q", format=fmt, title="A minus B")],
    )
    if select is not None:
        cells = cells.add_params(alt.selection_point(name=select, fields=["true", "predicted"]))
    text = base.transform_filter(alt.datum.difference != 0).mark_text(fontSize=10 if len(order) > 6 else 12).encode(
        text=alt.Text("difference:Q", format=fmt))
    chart = cells if len(order) > 15 else cells + text
    return chart.properties(width=size, height=size, title=title)


def reliability_chart(bins: dict[str, list[dict]], height: int = 320,
                      colours: dict[str, str] | None = None) -> alt.Chart:
    """Each run's accuracy against its confidence per bin (calibration.reliability_bins), each
    run in its colour (colours: label -> colour), the diagonal where a calibrated model lies;
    point size and tooltip give the samples per bin."""
    df = pd.DataFrame([{**b, "run": label} for label, rows in bins.items() for b in rows],
                      columns=["run", "lo", "hi", "count", "confidence", "accuracy"])
    axis = alt.Axis(format=".0%")
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="#999999", strokeDash=[4, 4]).encode(
        x="x:Q", y="x:Q")
    runs = alt.Chart(df).encode(
        x=alt.X("confidence:Q", title="Confidence (probability of the predicted class)",
                scale=alt.Scale(domain=[0, 1]), axis=axis),
        y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(domain=[0, 1]), axis=axis),
        color=run_colour(list(bins), colours),
        tooltip=["run", alt.Tooltip("lo:Q", format=".0%", title="from"), alt.Tooltip("hi:Q", format=".0%", title="to"),
                 alt.Tooltip("confidence:Q", format=".1%"), alt.Tooltip("accuracy:Q", format=".1%"),
                 alt.Tooltip("count:Q", title="samples")],
    )
    lines = runs.mark_line()
    points = runs.mark_circle(opacity=0.8).encode(size=alt.Size("count:Q", title="Samples in bin",
                                                                legend=alt.Legend(orient="bottom")))
    return (diagonal + lines + points).properties(height=height, title="Reliability: accuracy against confidence")


def seed_curves_chart(histories: dict[str, list[list[EpochStats]]], metric: str, height: int = 340,
                      epoch: int | None = None, colours: dict[str, str] | None = None) -> alt.Chart:
    """Training curves of seed groups: per group the mean over its seeds, with a ±1 std band
    where there are several; solid validation, dashed training; each group in its colour
    (colours: label -> colour). epoch draws a rule there."""
    frames = []
    for label, runs in histories.items():
        for i, epochs in enumerate(runs):
            frame = curves_frame({label: epochs})
            frame["seed_index"] = i
            frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    colour = run_colour(list(histories), colours)
    dash = split_dash()
    x = alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1))
    y_axis = alt.Axis(format=".0%") if metric == "accuracy" else alt.Axis()
    base = alt.Chart(df).encode(x=x, color=colour)
    band = base.transform_filter(alt.datum.split == "validation").mark_errorband(extent="stdev", opacity=0.25).encode(
        y=alt.Y(f"{metric}:Q", title=metric.capitalize(), scale=alt.Scale(zero=False), axis=y_axis))
    tooltip = ["run", "split", "epoch", alt.Tooltip(f"mean({metric}):Q", title=f"mean {metric}",
                                                    format=".2%" if metric == "accuracy" else ".4f"),
               alt.Tooltip("count():Q", title="seeds")]
    means = base.encode(y=alt.Y(f"mean({metric}):Q", title=metric.capitalize(), scale=alt.Scale(zero=False),
                                axis=y_axis))
    layers = [band, means.mark_line().encode(strokeDash=dash, tooltip=tooltip), dots(means, tooltip)]
    if epoch is not None:
        layers.append(alt.Chart(pd.DataFrame({"epoch": [epoch]})).mark_rule(color="#e4572e").encode(x="epoch:Q"))
    return alt.layer(*layers).properties(height=height, title=f"{metric.capitalize()} per epoch")


OUTCOME_COLOURS = {"both right": "#c7c7c7", "only A right": "#1f77b4", "only B right": "#d62728",
                   "both wrong": "#222222"}


def agreement_chart(points: pd.DataFrame, select: str | None = None, height: int = 420) -> alt.Chart:
    """The test samples in 2-D, coloured by who gets each right. points has columns x, y,
    sample, outcome, true, "A", "B" (each model's top class and probability, as text) and
    optionally image (a data URI, which the tooltip shows) or text."""
    colours = alt.Color("outcome:N", title=None, scale=alt.Scale(domain=list(OUTCOME_COLOURS),
                                                                 range=list(OUTCOME_COLOURS.values())),
                        legend=alt.Legend(orient="bottom"))
    tooltip = ["sample", "true", "A", "B"] + [c for c in ("image", "text") if c in points.columns]
    chart = alt.Chart(points).mark_circle(size=36, opacity=0.75).encode(
        x=alt.X("x:Q", title="First principal component", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", title="Second principal component", axis=alt.Axis(labels=False, ticks=False)),
        color=colours,
        # Disagreements on top, where they can be seen and clicked.
        order=alt.Order("rank:Q"),
        tooltip=tooltip,
    )
    if select is not None:
        chart = chart.add_params(alt.selection_point(name=select, fields=["sample"]))
    return chart.properties(height=height, title="Agreement map: which samples each model gets right")
