"""Links on a page: apply a link's runs once, keep the address bar in step with the runs shown,
and offer the link to copy."""

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from ..links import LinkError, decode_runs, encode_runs
from ..runs import RunConfig, RunStore
from .progress import submit

RUNS_PARAM = "runs"


def _applied_key(page: str) -> str:
    return f"link_applied_{page}"


def apply_link(page: str, dataset: str, store: RunStore) -> list[str] | None:
    """The run ids a fresh ?runs= names (stored ones now, the others once trained), or None.

    A link is applied once; runs it names that are not stored here are queued for training,
    seeded as the link says, so their numbers match the ones its sender saw.
    """
    token = st.query_params.get(RUNS_PARAM)
    if not token or st.session_state.get(_applied_key(page)) == token:
        return None
    st.session_state[_applied_key(page)] = token
    try:
        decoded = decode_runs(token, dataset)
    except LinkError as exc:
        st.warning(f"This link's runs cannot be shown: {exc}. Showing the runs stored here instead.")
        return None
    for problem in decoded.problems:
        st.warning(problem)
    missing = [c for c in decoded.configs
               if (run := store.get(c.run_id)) is None or run.status != "complete"]
    if missing:
        submit(missing)
    if decoded.configs:
        found = len(decoded.configs) - len(missing)
        st.info(f"This link shows {len(decoded.configs)} run{'s' if len(decoded.configs) != 1 else ''}: "
                f"{found} stored here" + (f", {len(missing)} training now (seeded as the link says, so "
                                          "the numbers will match)" if missing else "") + ".")
    return [c.run_id for c in decoded.configs]


def sync_link(page: str, configs: list[RunConfig]) -> None:
    """Put the runs shown into the address bar: the page's URL is then its link."""
    token = encode_runs(configs) if configs else None
    if token:
        st.query_params[RUNS_PARAM] = token
    elif RUNS_PARAM in st.query_params:
        del st.query_params[RUNS_PARAM]
    st.session_state[_applied_key(page)] = token


def copy_link(container=st) -> None:
    """The page's link, in a box with a copy button."""
    with container.popover("Copy link", icon=":material/link:"):
        st.markdown("Anyone who opens this link sees these runs: found in their copy's store at "
                    "once, or trained with the same settings and seed.")
        st.code(current_url(), language=None, wrap_lines=True)


def current_url() -> str:
    query = urlencode(st.query_params.to_dict())
    url = st.context.url or ""
    scheme, netloc, path, _, _ = urlsplit(url)
    return urlunsplit((scheme, netloc, path, query, "")) if netloc else f"?{query}"
