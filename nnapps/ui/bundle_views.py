"""Run bundles on the page: download a run as one zip, import one from elsewhere."""

import hashlib

import streamlit as st

from ..bundles import MAX_BUNDLE_BYTES, BundleError, bundle_name, export_bundle, import_bundle
from ..runs import Run
from .services import get_store

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
            run = import_bundle(get_store(), data)
        except BundleError as exc:
            done[digest] = f"{upload.name} was not imported: {exc}"  # not checked again each rerun
        else:
            done[digest] = (run.label, run.config.dataset)
            st.rerun()  # the page's lists of runs are drawn above: draw them again with this one
    if isinstance(done[digest], str):
        st.error(done[digest])
        return
    label, where = done[digest]
    if where == dataset:
        st.success(f"Imported {label}.")
    else:
        st.success(f"Imported {label}; it was trained on {where}, so it is listed there.")
