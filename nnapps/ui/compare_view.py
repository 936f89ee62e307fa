"""The Compare page's own state: which two configs are A and B, and the confusion cell clicked,
kept in session state and in the page's address (?vs=, ?cell=) so a link shows the same view."""

import streamlit as st

VS_PARAM = "vs"      # ?vs=0.1: A and B, as positions in the page's seed groups
CELL_PARAM = "cell"  # ?cell=3.5.a: true class 3 predicted as 5 by A (a, b, either, or r<k>: run k)
CELL = "compare_cell"  # session state: {"true": i, "pred": j, "by": ...} or absent
VS_A, VS_B = "compare_vs_a", "compare_vs_b"  # widget keys of the A and B pickers
SELECTION = "cell"  # the name of the point selection in every clickable matrix
FILTER = "prob_filter"  # the sample table's filter widget (reset to "all" when a cell is clicked)
POINT = "compare_point"  # session state: the test sample clicked on the agreement map
POINT_SELECTION = "sample"  # the name of the agreement map's point selection


def _applied_key(param: str) -> str:
    return f"compare_applied_{param}"


def _fresh(param: str) -> str | None:
    """A ?param= value not applied yet in this session (so a link applies once, then the page's
    widgets rule), or None."""
    value = st.query_params.get(param)
    if not value or st.session_state.get(_applied_key(param)) == value:
        return None
    st.session_state[_applied_key(param)] = value
    return value


def apply_vs(n_groups: int) -> None:
    """Set the A and B pickers from a fresh ?vs= naming two different groups; ignore others."""
    value = _fresh(VS_PARAM)
    if value is None:
        return
    parts = value.split(".")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        a, b = map(int, parts)
        if a != b and max(a, b) < n_groups:
            st.session_state[VS_A], st.session_state[VS_B] = a, b
            return
    st.warning(f"This link's choice of A and B ({value!r}) does not match its runs; showing the first two.")


def apply_cell(n_classes: int, n_runs: int) -> None:
    """Set the clicked cell from a fresh ?cell=; a malformed or out-of-range one is named and ignored."""
    value = _fresh(CELL_PARAM)
    if value is None:
        return
    cell = parse_cell(value, n_classes, n_runs)
    if cell is None:
        st.warning(f"This link's confusion cell ({value!r}) does not fit these runs; showing every sample.")
        return
    st.session_state[CELL] = cell


def parse_cell(value: str, n_classes: int, n_runs: int) -> dict | None:
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    i, j, by = int(parts[0]), int(parts[1]), parts[2]
    run_ok = by.startswith("r") and by[1:].isdigit() and int(by[1:]) < n_runs
    if max(i, j) >= n_classes or not (by in ("a", "b", "either") or run_ok):
        return None
    return {"true": i, "pred": j, "by": by}


def drop_stale_cell(n_classes: int, n_runs: int, has_vs: bool) -> None:
    """Forget a clicked cell the page can no longer show (another dataset, fewer runs, no A and B)."""
    cell = st.session_state.get(CELL)
    if not cell:
        return
    fits = parse_cell(f"{cell['true']}.{cell['pred']}.{cell['by']}", n_classes, n_runs) is not None
    if not fits or (cell["by"] in ("a", "b", "either") and not has_vs):
        st.session_state.pop(CELL, None)


def sync(vs: tuple[int, int] | None) -> None:
    """Put A and B and the clicked cell into the address bar."""
    values = {VS_PARAM: f"{vs[0]}.{vs[1]}" if vs else None}
    cell = st.session_state.get(CELL)
    values[CELL_PARAM] = f"{cell['true']}.{cell['pred']}.{cell['by']}" if cell else None
    for param, value in values.items():
        if value:
            st.query_params[param] = value
        elif param in st.query_params:
            del st.query_params[param]
        st.session_state[_applied_key(param)] = value


def on_click(chart_key: str, by: str, class_names: list[str]) -> None:
    """A matrix's on_select callback: a clicked cell filters the sample table; clicking it again
    (which empties the chart's selection) clears the filter it set."""
    event = st.session_state.get(chart_key) or {}
    points = (event.get("selection") or {}).get(SELECTION) or []
    if points and points[0].get("true") in class_names and points[0].get("predicted") in class_names:
        st.session_state[CELL] = {"true": class_names.index(points[0]["true"]),
                                  "pred": class_names.index(points[0]["predicted"]), "by": by}
        st.session_state[FILTER] = "all"
    elif (st.session_state.get(CELL) or {}).get("by") == by:
        st.session_state.pop(CELL, None)


def on_point(chart_key: str) -> None:
    """The agreement map's on_select callback: the clicked sample alone in the table (a click
    elsewhere, which empties the selection, lets every sample back)."""
    event = st.session_state.get(chart_key) or {}
    points = (event.get("selection") or {}).get(POINT_SELECTION) or []
    if points and isinstance(points[0].get("sample"), int):
        st.session_state[POINT] = points[0]["sample"]
        st.session_state[FILTER] = "all"
    else:
        st.session_state.pop(POINT, None)


def clear_cell() -> None:
    """Every sample back in the table: no confusion cell, no sample from the map."""
    st.session_state.pop(CELL, None)
    st.session_state.pop(POINT, None)


def set_cell_by(key: str, labels: dict[str, str]) -> None:
    """The "predicted by" control under a difference-matrix cell: A, B or either."""
    chosen = st.session_state.get(key)
    by = next((b for b, label in labels.items() if label == chosen), None)
    if by is not None and st.session_state.get(CELL):
        st.session_state[CELL] = {**st.session_state[CELL], "by": by}
