"""Who is visiting: one id per browser, kept in a cookie, so a visitor's runs stay theirs
after a reload, a new tab or a restart of the server.

The id is ours (random hex), not something a visitor typed; a cookie that is not one of ours is
ignored and a new id given. Whoever holds the id sees its runs, as whoever holds a shared link
sees that link's runs: it keeps strangers' runs apart, it is not a password.
"""

import re
import uuid

import streamlit as st

from nnapps.store.retention import evict
from nnapps.ui.services import get_store

COOKIE = "nnapps_visitor"
KEY = "visitor"
COOKIE_SECONDS = 365 * 86_400
_ID = re.compile(r"[0-9a-f]{32}")


def visitor() -> str:
    """This session's visitor id (arrive() gives it)."""
    return st.session_state[KEY]


def arrive() -> None:
    """Know the visitor and remember them in the browser. On a session's first run also mark
    their runs used (age spares them) and let the store drop what is past its limits."""
    if KEY not in st.session_state:
        st.session_state[KEY] = _from_cookie() or uuid.uuid4().hex
        store = get_store()
        store.touch(visitor())
        evict(store)
    _remember()


def _remember() -> None:
    """The cookie, written by a hidden element drawn on every run, the same each time.

    Drawn only on a session's first run, it would vanish on the second and shift every element
    after it up by one; Streamlit knows elements by their place, so it would remount them all:
    the first click on a fresh page would reset its tabs and erase a drawing. The browser runs
    the script when the element mounts: each time a page is opened, so the cookie's year
    starts again.
    """
    st.html(f"<style>div:has(> .st-key-{COOKIE}) {{display: none}}</style>")
    with st.container(key=COOKIE):
        st.html(f"<script>document.cookie = '{COOKIE}={visitor()}; path=/; max-age={COOKIE_SECONDS}; "
                "SameSite=Lax';</script>", unsafe_allow_javascript=True)


def _from_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this session (a test): a new visitor
        return None
    return value if isinstance(value, str) and _ID.fullmatch(value) else None
