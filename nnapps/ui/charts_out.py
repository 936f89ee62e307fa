"""Charts on a page with their own download: PNG or SVG, drawn from the chart's spec on click."""

import re

import altair as alt
import streamlit as st

PNG_SCALE = 2  # twice the on-screen size: sharp on a slide or a printed page


def _png(chart: alt.Chart) -> bytes:
    import vl_convert  # a V8 runtime: loaded only when someone asks for a picture
    return vl_convert.vegalite_to_png(chart.to_dict(), scale=PNG_SCALE)


def _svg(chart: alt.Chart) -> str:
    import vl_convert
    return vl_convert.vegalite_to_svg(chart.to_dict())


def show_chart(chart: alt.Chart, name: str, container=st, **kwargs) -> None:
    """container.altair_chart(chart, **kwargs), and beneath it a small download menu.

    name becomes the file's name and the widgets' keys, so it must be unique on the page.
    """
    container.altair_chart(chart, **kwargs)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "chart"
    # Streamlit's own chart toolbar saves a PNG of the screen; this adds SVG for print and
    # slides, and a PNG at twice the size.
    with container.popover("Save chart", icon=":material/download:"):
        st.download_button("PNG", data=lambda: _png(chart), file_name=f"{slug}.png", mime="image/png",
                           on_click="ignore", key=f"png_{slug}")
        st.download_button("SVG", data=lambda: _svg(chart), file_name=f"{slug}.svg", mime="image/svg+xml",
                           on_click="ignore", key=f"svg_{slug}")
