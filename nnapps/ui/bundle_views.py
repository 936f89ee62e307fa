"""Run bundles on the page: download a run as one zip, import one from elsewhere."""

import hashlib
import time

import streamlit as st

from nnapps import limits
from nnapps.store.bundles import MAX_BUNDLE_BYTES, BundleError, bundle_name, export_bundle, import_bundle
from nnapps.limits import LimitExceeded
from nnapps.store.runs import EVERYONE, Run
from nnapps.ui.escape import escape
from nnapps.ui.services import get_store
from nnapps.ui.visitor import visitor

IMPORTED = "imported_bundles"  # digests of the uploads this session has imported already


def download_buttons(runs: list[Run], labels: dict[str, str]) -> None:
    """One download button per run; its zip is made only when clicked."""
    store = get_store()
    for run in runs:
        st.download_button(f"Download {labels[run.run_id]}", data=lambda run=run: export_bundle(store, run),
                           file_name=bundle_name(run), mime="application/zip", icon=":material/download:",
                           on_click="ignore", key=f"bundle_{run.run_id}",
                           help="A zip of its config, history, test probabilities, metrics, weights "
                                "(safetensors) and fitted preprocessor, to import elsewhere")
        if run.provenance is not None:
            st.caption(escape(provenance_note(run)))


def provenance_note(run: Run) -> str:
    """Where an imported run came from, for the visitor looking at it (never another's id)."""
    who = "you" if run.provenance.by == visitor() else (
        "the command line" if run.provenance.by == EVERYONE else "another visitor")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(run.provenance.at))
    return f"{run.label}: imported by {who} on {when}; {run.provenance.checked}."


def import_widget(dataset: str, key: str) -> None:
    """An uploader that imports a bundle into the store and says where its run went."""
    upload = st.file_uploader("Import a run bundle (zip)", type=["zip"], key=key,
                              help=f"A zip downloaded from nnapps; at most {MAX_BUNDLE_BYTES // 2**20} MB. "
                                   "Nothing in it is executed or unpickled.")
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    done = st.session_state.setdefault(IMPORTED, {})
    if digest not in done:
        try:
            run = import_bundle(get_store(), data, owner=visitor())
        except BundleError as exc:
            done[digest] = f"{upload.name} was not imported: {exc}"  # not checked again each rerun
        except LimitExceeded as exc:  # not kept: room may be made and the same file tried again
            st.error(escape(f"{upload.name} was not imported: {exc}. Delete runs you no longer need first."))
            return
        else:
            done[digest] = (run.config.label(), run.config.dataset, run.provenance.checked)
            st.rerun()  # the page's lists of runs are drawn above: draw them again with this one
    if isinstance(done[digest], str):
        st.error(escape(done[digest]))
        return
    label, where, checked = done[digest]
    listed = "" if where == dataset else f"; it was trained on {where}, so it is listed there"
    st.success(escape(f"Imported {label}{listed}. Kept apart from the runs trained here: it is shown "
                      f"as imported, and training its settings trains them anew. Checked: {checked}."))


def delete_widget(run_ids: list[str], labels: dict[str, str]) -> None:
    """Delete this visitor's runs among run_ids; the examples everyone shares are not theirs."""
    store = get_store()
    mine = store.owned(visitor())
    st.caption(keeping_note(len(mine)))
    own = [i for i in run_ids if i in mine]
    doomed = st.multiselect("Delete your runs", own, format_func=lambda i: labels[i], key="delete_runs",
                            help="Only your own runs are listed: the examples are shared by everyone")
    if st.button("Delete", disabled=not doomed, icon=":material/delete:"):
        for run_id in doomed:
            store.disown(run_id, visitor())
        st.rerun()


def keeping_note(n_mine: int) -> str:
    """What this copy keeps of a visitor's runs, and for how long."""
    cap, days, size = (limits.RUNS_PER_VISITOR.value(), limits.RUN_AGE_DAYS.value(),
                       limits.STORE_MB.value())
    note = [f"You keep {n_mine} run{'s' if n_mine != 1 else ''} on this copy (in this browser)"
            + (f", of at most {cap:,.0f}." if cap != float("inf") else ".")]
    if days != float("inf"):
        note.append(f"Your runs are removed when you have not come back for {days:g} days.")
    if size != float("inf"):
        note.append(f"When all visitors' runs pass {size:,.0f} MB, the least recently used go first.")
    note.append("The examples everyone shares stay.")
    return " ".join(note)
