"""Links on a page: apply a link's runs once, keep the address bar in step with the runs shown,
and offer the link to copy."""

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from nnapps import limits
from nnapps.store.links import LinkError, decode_runs, encode_runs
from nnapps.store.runs import RunConfig, RunStore
from nnapps.ui.escape import escape
from nnapps.ui.progress import submit
from nnapps.ui.visitor import visitor

RUNS_PARAM = "runs"


def _applied_key(page: str) -> str:
    return f"link_applied_{page}"


def apply_link(page: str, dataset: str, store: RunStore, split_seed: int = 0,
               accept=lambda config: None, single: bool = False) -> list[RunConfig] | None:
    """The runs a fresh ?runs= names (stored ones now, the others once trained), or None.

    A link is applied once; runs it names that are not stored here are queued for training,
    seeded as the link says, so their numbers match the ones its sender saw. Runs the page
    cannot show (another split; accept(config) returns why) are named and left out; a page of
    one run (single) takes the first.
    """
    token = st.query_params.get(RUNS_PARAM)
    if not token or st.session_state.get(_applied_key(page)) == token:
        return None
    st.session_state[_applied_key(page)] = token
    try:
        decoded = decode_runs(token, dataset)
    except LinkError as exc:
        st.warning(f"This link's runs cannot be shown: {escape(exc)}. Showing the runs stored here instead.")
        return None
    shown = []
    for config in decoded.configs:
        why = (f"it uses split {config.split_seed}, and this page shows split {split_seed}"
               if config.split_seed != split_seed else accept(config))
        if why:
            decoded.problems.append(f"{config.label()} was left out: {why}")
        else:
            shown.append(config)
    if single and len(shown) > 1:
        decoded.problems.append(f"this page shows one run; the link's first, {shown[0].label()}, is shown")
        shown = shown[:1]
    decoded.configs = shown
    missing = [c for c in shown if (run := store.get(c.run_id)) is None or run.status != "complete"]
    for config in shown:
        if config not in missing:  # a stored run a link names is the link holder's too
            store.claim(config.run_id, visitor())
    for config in list(missing):
        try:  # a link does not make this copy train past its limits
            limits.check(limits.EPOCHS, config.train.get("epochs", 0))
        except limits.LimitExceeded as exc:
            decoded.problems.append(f"{config.label()} is not stored here and will not be trained: {exc}")
            missing.remove(config)
            decoded.configs.remove(config)
    for problem in decoded.problems:
        st.warning(escape(problem))
    found = len(decoded.configs) - len(missing)
    # submit queues configs in order and stops at the first it refuses (saying why): the rest
    # are not training, and not shown.
    training = missing[:len(submit(missing))] if missing else []
    decoded.configs = [c for c in decoded.configs if c not in missing or c in training]
    if decoded.configs:
        refused = len(missing) - len(training)
        st.info(f"This link shows {len(decoded.configs)} run{'s' if len(decoded.configs) != 1 else ''}: "
                f"{found} stored here" + (f", {len(training)} training now (seeded as the link says, so "
                                          "the numbers will match)" if training else "")
                + (f"; {refused} not trained (see above)" if refused else "") + ".")
    return decoded.configs


def _pending_key(page: str) -> str:
    return f"link_pending_{page}"


def follow_link(page: str, key: str, linked: list[RunConfig] | None, available, single: bool = False) -> None:
    """Put a link's runs into the page's run widget (session-state key): the stored ones at
    once, the ones still training as each arrives in available (the run ids listed now).
    The runs yet to arrive stay pending: sync_link keeps them in the address."""
    if linked is not None:
        st.session_state[_pending_key(page)] = list(linked)
        if not single:  # the link's runs and no others, even while some still train
            st.session_state[key] = []
    pending = st.session_state.get(_pending_key(page), [])
    arrived = [c.run_id for c in pending if c.run_id in available]
    if arrived:
        if single:
            st.session_state[key] = arrived[0]
        else:
            current = [i for i in st.session_state.get(key, []) if i in available]
            st.session_state[key] = current + [i for i in arrived if i not in current]
    st.session_state[_pending_key(page)] = [c for c in pending if c.run_id not in available]


def sync_link(page: str, configs: list[RunConfig]) -> None:
    """Put the runs shown into the address bar: the page's URL is then its link. A link's runs
    still training stay in it, so a reload meanwhile loses nothing."""
    shown = {c.run_id for c in configs}
    configs = list(configs) + [c for c in st.session_state.get(_pending_key(page), []) if c.run_id not in shown]
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


GPT_PARAM = "gpt"


def open_gpt_link(store: RunStore, run_key: str, pick_key: str) -> None:
    """Apply a fresh ?gpt= once: choose its run if stored, else train it when its text is here."""
    from nnapps.data import corpora
    from nnapps.gpt.runs import corpus_name
    from nnapps.store.links import decode_gpt

    token = st.query_params.get(GPT_PARAM)
    if not token or st.session_state.get(_applied_key("gpt")) == token:
        return
    st.session_state[_applied_key("gpt")] = token
    try:
        config = decode_gpt(token)
    except LinkError as exc:
        st.warning(f"This link's model cannot be shown: {escape(exc)}. Showing the models here instead.")
        return
    stored = store.get(config.run_id)
    if stored is not None and stored.status == "complete":
        store.claim(config.run_id, visitor())
        st.session_state[pick_key] = config.run_id
        return
    name = corpus_name(config)
    here = (name == "builtin" or (name == "shakespeare" and corpora.shakespeare_path().exists())
            or corpora.user_path(name).exists())
    if not here:
        st.warning(f"This link's model learned from a text that is not on this copy ({escape(name)}): "
                   "download Tiny Shakespeare, or paste the text, under *Train your own*, then open "
                   "the link again.")
        return
    try:
        limits.check(limits.GPT_STEPS, config.train["steps"])
    except limits.LimitExceeded as exc:
        st.warning(f"This link's model is not stored here, and this copy will not train it: {escape(exc)}")
        return
    submit([config])
    st.session_state[f"link_training_{GPT_PARAM}"] = config
    st.info(f"This link's model ({config.label()}) is not stored here: it is training now, seeded as "
            "the link says, so it will write what its sender saw. Watch it under *Train your own*; "
            "it is chosen here when it is done.")


def sync_gpt_link(config: RunConfig) -> None:
    """The address names the model shown, or, while a link's model trains, that model."""
    from nnapps.store.links import encode_gpt
    training = st.session_state.get(f"link_training_{GPT_PARAM}")
    if training is not None and training.run_id == config.run_id:
        del st.session_state[f"link_training_{GPT_PARAM}"]
        training = None
    token = encode_gpt(training or config)
    st.query_params[GPT_PARAM] = token
    st.session_state[_applied_key("gpt")] = token
