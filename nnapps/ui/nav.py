"""Links between pages that also work when a page script runs on its own (tests, a single page)."""

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError


def page_link(page: str, label: str, icon: str | None = None, container=st) -> None:
    """st.page_link, or the label as plain text where navigation does not know the page."""
    try:
        container.page_link(page, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        # Run alone (AppTest.from_file("pages/x.py")) there is no navigation to link into.
        container.markdown(f"{label} (open it from the app's navigation)")


def switch_page(page: str) -> None:
    """st.switch_page, or a rerun of this page where navigation does not know the target."""
    try:
        st.switch_page(page)
    except StreamlitPageNotFoundError:
        st.rerun()
