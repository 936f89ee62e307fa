"""What the GPT page draws: characters made visible, next-character tables, attention maps,
loss curves by step."""


import altair as alt
import numpy as np
import pandas as pd

from nnapps.charts.colours import colour_scale
from nnapps.charts.results import split_dash
from nnapps.ui.escape import escape

# Characters that would be invisible or break a table cell, shown as a sign a reader knows.
_VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def visible(char: str) -> str:
    if char in _VISIBLE:
        return _VISIBLE[char]
    if not char.isprintable():
        return repr(char)[1:-1]
    return char


def step_labels(chars: list[str]) -> list[str]:
    """A label for each generated character, no two alike, as markdown.

    Streamlit maps a click on a pill back to its option by the label, so a character that
    occurs twice would always open its last occurrence; each repeat gets one more invisible word
    joiner (U+2060) to tell it apart.
    """
    seen: dict[str, int] = {}
    labels = []
    for char in chars:
        label = escape(visible(char))
        labels.append(label + "\u2060" * seen.get(label, 0))
        seen[label] = seen.get(label, 0) + 1
    return labels


def next_char_table(probs: np.ndarray, raw: np.ndarray, chars: tuple[str, ...]) -> pd.DataFrame:
    """Every character with its probability, most probable first. probs is what sampling draws
    from (after temperature and top-k); raw is the model's own distribution (temperature 1),
    which orders the characters that top-k or temperature 0 leave at 0."""
    order = np.lexsort((-raw, -probs))
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1),
                         "character": [visible(chars[i]) for i in order],
                         "probability": probs[order].astype(float),
                         "model's own": raw[order].astype(float)})


def alternatives_chart(probs: np.ndarray, chars: tuple[str, ...], chosen: int, top: int = 15) -> alt.Chart:
    """The top characters of one step's distribution as bars, the drawn one in colour."""
    order = [int(i) for i in np.argsort(-probs, kind="stable")[:top]]
    if chosen not in order:  # a draw from the tail still shows what was drawn
        order[-1] = chosen
    df = pd.DataFrame({"character": [f"{visible(chars[i])}" for i in order],
                       "probability": probs[order].astype(float),
                       "drawn": [i == chosen for i in order]})
    # The order given outright: with sort=None the browser, which swaps one step's data for the
    # next in place, keeps the characters the last step showed in their old places.
    return (alt.Chart(df).mark_bar().encode(
        y=alt.Y("character:N", sort=list(df["character"]), title=None,
                axis=alt.Axis(labelOverlap=False, labelFontSize=14)),
        x=alt.X("probability:Q", title="Probability", axis=alt.Axis(format=".0%")),
        color=alt.condition("datum.drawn", alt.value("#e4572e"), alt.value("#9db4c0")),
        tooltip=["character", alt.Tooltip("probability:Q", format=".2%")],
    ).properties(height=22 * len(order)))


def attention_chart(weights: np.ndarray, text: str, title: str) -> alt.Chart:
    """One head's (T, T) attention: row = the character reading, column = the one read."""
    T = len(text)
    labels = [f"{i:02d} {visible(c)}" for i, c in enumerate(text)]
    rows, cols = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    df = pd.DataFrame({"reading": np.array(labels)[rows.ravel()], "read": np.array(labels)[cols.ravel()],
                       "weight": weights.ravel().astype(float)})
    df = df[cols.ravel() <= rows.ravel()]  # the causal mask: nothing later is ever read
    axis = alt.Axis(labelExpr="substring(datum.value, 3)", labelFontSize=11, labelAngle=0,
                    labelOverlap=False)
    return (alt.Chart(df, title=title).mark_rect().encode(
        x=alt.X("read:O", sort=labels, title="reads this character", axis=axis),
        y=alt.Y("reading:O", sort=labels, title="this character", axis=axis),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["reading", "read", alt.Tooltip("weight:Q", format=".1%")],
    ).properties(width=max(300, 13 * T), height=max(300, 13 * T)))  # a readable row per character


def loss_by_step_chart(points: dict[str, list], height: int = 300,
                       colours: dict[str, str] | None = None) -> alt.Chart:
    """Training and validation loss against steps, one colour per run (colours: label -> colour),
    solid for validation and dashed for training, with a legend for each."""
    rows = [{"run": name, "step": p.step, "split": split, "loss": getattr(p, f"{key}_loss")}
            for name, pts in points.items() for p in pts for split, key in (("train", "train"), ("validation", "val"))]
    df = pd.DataFrame(rows)
    # Points as their own layer: overlaid on the line they would hide the line-style legend's symbols.
    lines = alt.Chart().mark_line().encode(strokeDash=split_dash())
    dots = alt.Chart().mark_circle(size=30, opacity=1).encode(detail="split:N")
    return alt.layer(lines, dots, data=df).encode(
        x=alt.X("step:Q", title="Step"),
        y=alt.Y("loss:Q", title="Cross-entropy (nats per character)", scale=alt.Scale(zero=False)),
        # One run needs no colour key (the page names it); several get one below the plot.
        color=alt.Color("run:N", title="Run", scale=colour_scale(list(points), colours),
                        legend=None if len(points) == 1 else alt.Legend(orient="bottom", labelLimit=400)),
        tooltip=["run", "split", "step", alt.Tooltip("loss:Q", format=".3f")],
    ).properties(height=height)
