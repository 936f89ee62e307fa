"""Altair chart builders: plain data in, chart out (no Streamlit here)."""

import altair as alt
import numpy as np
import pandas as pd

from nnapps.charts.colours import PALETTE, colour_scale
from nnapps.training.loop import EpochStats

CURVE_METRICS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_acc", "val_acc")}


def curves_frame(histories: dict[str, list[EpochStats]]) -> pd.DataFrame:
    """Long table of per-epoch curves: run, epoch, split (train/validation), loss, accuracy."""
    rows = []
    for label, epochs in histories.items():
        for e in epochs:
            rows.append({"run": label, "epoch": e.epoch, "split": "train",
                         "loss": e.train_loss, "accuracy": e.train_acc})
            rows.append({"run": label, "epoch": e.epoch, "split": "validation",
                         "loss": e.val_loss, "accuracy": e.val_acc})
    return pd.DataFrame(rows, columns=["run", "epoch", "split", "loss", "accuracy"])


def run_colour(names: list[str], colours: dict[str, str] | None, title: str = "Run") -> alt.Color:
    """The colour channel of charts that draw runs: each run (by label) in its own colour
    (colours: label -> colour, from nnapps.charts.colours), with a legend below the plot."""
    return alt.Color("run:N", title=title, scale=colour_scale(names, colours),
                     legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400))


def height_with_legend(plot_height: int, n_rows: int) -> int:
    """The height to give Streamlit for a chart whose plot is plot_height high with a legend of
    n_rows rows below it: Streamlit fits plot and legend into the height it is given, so a long
    run list would squash the plot to a strip."""
    return plot_height + 80 + 22 * n_rows


def split_dash(domain=("validation", "train")) -> alt.StrokeDash:
    """Line style per split, with its own legend: the first of domain solid, the second dashed."""
    return alt.StrokeDash("split:N", title="Split", scale=alt.Scale(domain=list(domain), range=[[1, 0], [4, 3]]),
                          legend=alt.Legend(symbolType="stroke", symbolStrokeColor="gray", symbolStrokeWidth=2,
                                            orient="bottom", direction="vertical"))


def curves_chart(histories: dict[str, list[EpochStats]], metric: str, height: int = 340,
                 epoch: int | None = None, colours: dict[str, str] | None = None,
                 unit: str = "epoch") -> alt.Chart:
    """Overlaid training curves: one colour per run (colours: label -> colour), solid validation
    and dashed train lines; epoch draws a rule there (the epoch replayed). unit is what the
    histories count (their History.unit): "epoch", or "step" for language models."""
    if metric not in CURVE_METRICS:
        raise ValueError(f"metric must be one of {list(CURVE_METRICS)}, got {metric!r}")
    df = curves_frame(histories)
    x_title = unit.capitalize()
    y_axis = alt.Y(f"{metric}:Q", title=metric.capitalize(),
                   scale=alt.Scale(zero=False),
                   axis=alt.Axis(format=".0%") if metric == "accuracy" else alt.Axis())
    tooltip = ["run", "split", alt.Tooltip("epoch:Q", title=unit),
               alt.Tooltip(f"{metric}:Q", format=".2%" if metric == "accuracy" else ".4f")]
    base = alt.Chart(df).encode(x=alt.X("epoch:Q", title=x_title, axis=alt.Axis(tickMinStep=1)), y=y_axis,
                                color=run_colour(list(histories), colours))
    layers = [base.mark_line().encode(strokeDash=split_dash(), tooltip=tooltip), dots(base, tooltip)]
    if epoch is not None:
        layers.append(alt.Chart(pd.DataFrame({"epoch": [epoch]})).mark_rule(color="#e4572e").encode(x="epoch:Q"))
    return alt.layer(*layers).properties(height=height, title=f"{metric.capitalize()} per {unit}")


def dots(base: alt.Chart, tooltip: list) -> alt.Chart:
    """A curve's points as their own layer: points overlaid on the line mark itself would hide
    the line-style legend's symbols (Vega-Lite draws them filled, with a transparent stroke)."""
    return base.mark_circle(size=20, opacity=1).encode(detail="split:N", tooltip=tooltip)


def class_axis(title: str, n_classes: int) -> alt.Axis:
    """An axis of class names that labels every class: Vega drops labels it finds overlapping
    by default, which on a small matrix leaves every other row unnamed."""
    return alt.Axis(title=title, labelOverlap=False, labelLimit=90, labelFontSize=10 if n_classes > 10 else 11)


def confusion_chart(confusion: list[list[int]], class_names: list[str], title: str,
                    normalize: bool = False, size: int = 300, select: str | None = None,
                    vmax: float | None = None) -> alt.Chart:
    """Heatmap of a confusion matrix (rows: true class, columns: predicted), numbers on cells and
    a colour legend below.

    normalize divides each row by its count, so a cell reads "share of the true class predicted as".
    vmax is the top of the colour scale: matrices drawn side by side pass the largest value over
    all of them, so one shade means one number in each (shared_vmax). select names a point
    selection on a cell's (true, predicted), for a page to read clicks.
    """
    cm = np.asarray(confusion, dtype=float)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    df = pd.DataFrame([{"true": class_names[i], "predicted": class_names[j], "value": values[i, j],
                        "count": int(cm[i, j]) if cm[i, j].is_integer() else round(float(cm[i, j]), 2)}
                       for i in range(len(class_names)) for j in range(len(class_names))])
    order = list(class_names)
    # A mean over seeds may be fractional.
    fmt = ".0%" if normalize else ("d" if np.allclose(cm, np.round(cm)) else ".1f")
    base = alt.Chart(df).encode(
        x=alt.X("predicted:N", sort=order, axis=class_axis("Predicted", len(order))),
        y=alt.Y("true:N", sort=order, axis=class_axis("True", len(order))),
    )
    if vmax is None:
        vmax = 1.0 if normalize else max(float(values.max()), 1.0)
    legend = alt.Legend(title="share of the true class" if normalize else "count", orient="bottom",
                        direction="horizontal", gradientLength=size * 0.6, format=".0%" if normalize else "d")
    cells = base.mark_rect(stroke="#eeeeee", strokeWidth=0.5).encode(
        # Empty cells white, the rest shaded, so the few mistakes stand out.
        color=alt.condition(alt.datum.count == 0, alt.value("white"),
                            alt.Color("value:Q", scale=alt.Scale(scheme="blues", domain=[0, vmax]), legend=legend)),
        tooltip=["true", "predicted", "count", alt.Tooltip("value:Q", format=".2%" if normalize else fmt,
                                                            title="share" if normalize else "count")],
    )
    # Empty cells stay blank; text flips to white on dark cells.
    text = base.transform_filter(alt.datum.count > 0).mark_text(fontSize=10 if len(order) > 6 else 12).encode(
        text=alt.Text("value:Q", format=fmt),
        color=alt.condition(alt.datum.value > vmax * 0.5, alt.value("white"), alt.value("black")),
    )
    if select is not None:
        cells = cells.add_params(alt.selection_point(name=select, fields=["true", "predicted"]))
    if len(order) > 15:  # numbers would overlap
        return cells.properties(width=size, height=size, title=title)
    return (cells + text).properties(width=size, height=size, title=title)


def shared_vmax(confusions: list, normalize: bool) -> float:
    """The top of one colour scale for matrices drawn side by side: 1 for shares, else the
    largest count over all of them."""
    if normalize or not confusions:
        return 1.0
    return max(1.0, max(float(np.max(np.asarray(c, dtype=float))) for c in confusions))


def class_balance_chart(counts: pd.DataFrame, height: int = 240) -> alt.Chart:
    """Stacked bars of items per class and split; counts has columns class, split, count."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort=None, title="Class"),
            y=alt.Y("count:Q", title="Items"),
            color=alt.Color("split:N", sort=["train", "val", "test"], title="Split"),
            order=alt.Order("split_order:Q"),
            tooltip=["class", "split", "count"],
        )
        .properties(height=height, title="Class balance")
    )


def distribution_chart(probas: dict[str, np.ndarray], class_names: list[str],
                       true_class: str | None = None, height: int = 300,
                       colours: dict[str, str] | None = None) -> alt.Chart:
    """Every run's probability for every class of one sample, as grouped bars, each run in its
    colour (colours: label -> colour)."""
    df = pd.DataFrame([{"run": label, "class": name, "probability": float(p[i]),
                        "is true": name == true_class}
                       for label, p in probas.items() for i, name in enumerate(class_names)])
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            # Level labels: rotated long class names would eat the plot's height.
            x=alt.X("class:N", sort=list(class_names), title="Class", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("run:N"),
            y=alt.Y("probability:Q", title="Probability", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format=".0%")),
            color=alt.Color("run:N", title="Run", scale=colour_scale(list(probas), colours),
                            legend=alt.Legend(orient="bottom", columns=2, labelLimit=400)),
            tooltip=["run", "class", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=height, title="Predicted probability for every class")
    )


def probability_bars(proba: np.ndarray, class_names: list[str], height: int | None = None,
                     colour: str = "#e4572e") -> alt.Chart:
    """One run's probability for every class as horizontal bars, the predicted class in colour
    (the run's own, where a page shows several runs)."""
    top = int(np.argmax(proba))
    df = pd.DataFrame({"class": class_names, "probability": np.asarray(proba, dtype=float),
                       "predicted": [i == top for i in range(len(class_names))]})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=list(class_names), title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("probability:Q", title="Probability", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format=".0%")),
            color=alt.condition("datum.predicted", alt.value(colour), alt.value("#d0d7dc")),
            tooltip=["class", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=height or max(120, 22 * len(class_names)))
    )


def signed_bars(values: np.ndarray, labels, x: str, y: str, height: int = 160) -> alt.Chart:
    """Bars of values (a layer's activations, the logits) over labels, positive ones in colour
    and negative ones grey, so the sign reads at a glance."""
    df = pd.DataFrame({x: list(labels), y: np.asarray(values, dtype=float)})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:{'O' if pd.api.types.is_integer_dtype(df[x]) else 'N'}", sort=None,
                    title=x.capitalize(), axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y(f"{y}:Q", title=y.capitalize()),
            color=alt.condition(f"datum['{y}'] >= 0", alt.value("#e4572e"), alt.value("#9db4c0")),
            tooltip=[x, alt.Tooltip(f"{y}:Q", format=".4f")],
        )
        .properties(height=height)
    )


def length_chart(lengths: pd.DataFrame, height: int = 220) -> alt.Chart:
    """Histogram of text lengths in words per class; lengths has columns class, words."""
    return (
        alt.Chart(lengths)
        .mark_bar(opacity=0.7)
        .encode(
            # Whole words: bins at least one word wide, labelled 3, 5, 7 rather than 3.0, 5.0, 7.0.
            x=alt.X("words:Q", bin=alt.Bin(maxbins=40, minstep=1), title="Words per text",
                    axis=alt.Axis(format="d")),
            y=alt.Y("count():Q", title="Texts", stack=None),
            color=alt.Color("class:N", title="Class", scale=alt.Scale(range=list(PALETTE))),
            tooltip=["class", alt.Tooltip("count():Q", title="texts")],
        )
        .properties(height=height, title="Text length")
    )


def memory_chart(tokens: list[str], states: np.ndarray, probas: np.ndarray, class_names: list[str],
                 width: int = 640) -> alt.VConcatChart:
    """A recurrent network's memory word by word: above, its probability for each class had
    the text ended at each word; below, its state after each word as a heat map (a row per
    memory unit, red for positive, blue for negative)."""
    words = [f"{i + 1}. {t}" for i, t in enumerate(tokens)]
    x = alt.X("word:N", sort=words, title=None, axis=alt.Axis(labelAngle=-45, labelLimit=120))
    prediction = pd.DataFrame([{"word": w, "class": c, "probability": float(probas[i, k])}
                               for i, w in enumerate(words) for k, c in enumerate(class_names)])
    lines = alt.Chart(prediction).mark_line(point=True).encode(
        x=alt.X("word:N", sort=words, title=None, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("probability:Q", title="Prediction", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%")),
        color=alt.Color("class:N", title="Class", sort=list(class_names), scale=alt.Scale(range=list(PALETTE)),
                        legend=alt.Legend(orient="top", columns=min(len(class_names), 5))),
        tooltip=["word", "class", alt.Tooltip("probability:Q", format=".1%")],
    ).properties(width=width, height=140, title="Prediction after each word")
    cells = pd.DataFrame([{"word": w, "unit": u, "state": float(states[i, u])}
                          for i, w in enumerate(words) for u in range(states.shape[1])])
    limit = max(float(np.abs(states).max()), 1e-6)
    heat = alt.Chart(cells).mark_rect().encode(
        x=x,
        y=alt.Y("unit:O", title="Memory unit", axis=alt.Axis(labels=False, ticks=False)),
        # Reversed rather than a reversed domain, so the legend reads from + at the top to - below.
        color=alt.Color("state:Q", title="State",
                        scale=alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True),
                        legend=alt.Legend(orient="right")),
        tooltip=["word", "unit", alt.Tooltip("state:Q", format=".3f")],
    ).properties(width=width, height=min(4 * states.shape[1], 260), title="Memory after each word")
    return alt.vconcat(lines, heat).resolve_scale(color="independent")
