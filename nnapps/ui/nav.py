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


def ensure_app_navigation() -> None:
    """Rerun through app.py when Streamlit ran this page as a legacy pages/ script.

    Streamlit treats a folder named pages/ beside the entry point as the old multipage layout
    until app.py's st.navigation has run once in the process. A fresh server whose first visitor
    opens a deep link (a shared /compare?dataset=... URL) would run the page alone, without
    app.py's navigation and page config, and keep doing so for everyone. Clearing the flag
    and rerunning hands the request to app.py, which then opens the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy flag has nothing to undo
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
