"""Widgets drawn from a hyperparameter schema: one widget per Param, never written by hand."""

import math
from dataclasses import replace
from typing import Any

import streamlit as st

from nnapps.schema import Param, Schema


def log_choices(p: Param) -> list[float]:
    """1-2-5 steps per decade between p.low and p.high, plus the default."""
    values = {p.default}
    for exponent in range(math.floor(math.log10(p.low)), math.ceil(math.log10(p.high)) + 1):
        for mantissa in (1, 2, 5):
            v = float(f"{mantissa}e{exponent}")
            if p.low <= v <= p.high:
                values.add(v)
    return sorted(values)


def param_widget(p: Param, key: str, container=st, default: Any = None) -> Any:
    """One widget for one Param; its value comes back already of the Param's kind.

    default replaces the Param's own default (a modality's starting value)."""
    if default is not None:
        p = replace(p, default=p.coerce(default))
    if p.kind == "choice":
        return container.selectbox(p.label, p.choices, index=p.choices.index(p.default), key=key, help=p.help_text)
    if p.kind == "bool":
        return container.toggle(p.label, value=p.default, key=key, help=p.help_text)
    if p.kind == "float" and p.log:
        return container.select_slider(p.label, options=log_choices(p), value=p.default, key=key,
                                       help=p.help_text, format_func=lambda v: f"{v:g}")
    if p.kind == "float":
        return container.number_input(p.label, min_value=float(p.low), max_value=float(p.high),
                                      value=float(p.default), step=0.05, key=key, help=p.help_text)
    if p.kind == "int":
        return container.number_input(p.label, min_value=int(p.low), max_value=int(p.high),
                                      value=int(p.default), step=1, key=key, help=p.help_text)
    raise ValueError(f"no widget for parameter kind {p.kind!r}")


def schema_widgets(schema: Schema, key_prefix: str, n_columns: int = 2, skip: tuple = (),
                   defaults: dict | None = None) -> dict:
    """Widgets for every Param of schema laid out in columns; returns {name: value}.

    A Param that does nothing for the values chosen before it (momentum with Adam) gets no
    widget and keeps its default, so hiding it does not change the run."""
    columns = st.columns(n_columns)
    defaults = defaults or {}
    values: dict = {}
    n_drawn = 0
    for p in (p for p in schema if p.name not in skip):
        default = defaults.get(p.name)
        if not p.shown(values):
            values[p.name] = p.coerce(default) if default is not None else p.default
            continue
        values[p.name] = param_widget(p, f"{key_prefix}_{p.name}", columns[n_drawn % n_columns], default)
        n_drawn += 1
    return values
