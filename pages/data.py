"""Data: browse a dataset (examples per class, class balance, splits, origin) or upload your own."""

import pandas as pd
import streamlit as st

from nnapps.charts import results as charts
from nnapps.data import DatasetUnavailable, load_dataset
from nnapps.data.text_table import detect_columns
from nnapps.data.uploads import ARCHIVE_SUFFIXES, TEXT_SUFFIXES
from nnapps.limits import CLIP_SECONDS, UPLOAD_MB
from nnapps.ui import state
from nnapps.ui.charts_out import show_chart
from nnapps.ui.escape import dataset_description, dataset_title, escape
from nnapps.ui.services import cached_dataset, get_store
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.views import view_for
from nnapps.ui.upload_jobs import forget_upload, show_progress, upload_job
from nnapps.ui.visitor import visitor

MAX_CLASSES_SHOWN = 20

state.init_state()
spec = dataset_picker()
view = view_for(spec.modality)

st.title(dataset_title(spec))
st.markdown(dataset_description(spec))
st.caption(f"Origin: {spec.origin} · Licence: {spec.licence}"
           + (f" · [source]({spec.source_url})" if spec.source_url else ""))
for note in spec.notes:
    st.info(escape(note))


def download_prompt(spec) -> bool:
    """For a dataset not downloaded yet: a button that fetches it with a progress bar."""
    st.info(f"{dataset_title(spec)} is not on this machine yet. It is downloaded once and cached.")
    if not st.button(f"Download {dataset_title(spec)}", icon=":material/download:"):
        return False
    bar = st.progress(0.0, text="starting the download")
    try:
        load_dataset(spec.name, 0, progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
    except DatasetUnavailable as exc:
        bar.empty()
        st.error(escape(exc))
        return False
    return True


def open_dataset(name: str) -> None:
    st.session_state[state.DATASET] = name


def upload_section() -> None:
    st.subheader("Use your own data")
    st.markdown(
        "**Images**: a zip with one folder per class (for example `cats/` and `dogs/`) of PNG or "
        "JPEG images, resized to 32x32.  \n**Sounds**: a zip with one folder per class of WAV, "
        f"FLAC or OGG clips of up to {CLIP_SECONDS.value():g} s, mixed down to mono at 16 kHz, "
        "silence at their edges trimmed, and padded or cut to the length most of them fit in.  \n"
        "**Texts**: a CSV or TSV file with a text column and a "
        "label column (a header such as `text,label` helps; without one, the longer column is "
        "taken as the text); lines that do not fit are skipped and listed.  \nAt least two "
        "classes with two examples each.")
    upload = st.file_uploader("Zip of class folders, or CSV/TSV file",
                              type=[s.lstrip(".") for s in ARCHIVE_SUFFIXES + TEXT_SUFFIXES],
                              key="data_upload", max_upload_size=int(min(UPLOAD_MB.value(), 2**10)))
    if upload is None:
        forget_upload()
        return
    data = upload.getvalue()
    columns: dict = {}
    if upload.name.lower().endswith(TEXT_SUFFIXES):
        try:
            found = detect_columns(data)
        except DatasetUnavailable as exc:
            st.error(escape(f"{upload.name} could not be used: {exc}"))
            return
        if found.text is None or found.label is None or len(found.columns) > 2:
            st.info("Pick the columns that hold the texts and the labels.")
            left, right = st.columns(2)
            cols = list(found.columns)
            columns["text_column"] = left.selectbox(
                "Text column", cols, index=cols.index(found.text) if found.text in cols else 0,
                key="upload_text_column")
            columns["label_column"] = right.selectbox(
                "Label column", cols, index=cols.index(found.label) if found.label in cols else min(1, len(cols) - 1),
                key="upload_label_column")
    # Decoded in a worker, not here: the page stays usable and can stop it.
    job = upload_job(data, upload.name, columns)
    if not job.done:
        show_progress(job)
        return
    if job.error is not None:
        st.error(escape(f"{upload.name} could not be used: {job.error}"))
        if job.stopped:
            st.button("Check it again", icon=":material/refresh:", on_click=forget_upload)
        return
    new_spec = job.spec
    get_store().claim(new_spec.name, visitor())  # listed for this visitor only
    st.success(escape(f"Stored {new_spec.title}: {new_spec.description}"))
    for note in new_spec.notes:
        st.warning(escape(note))
    st.button(f"Open {dataset_title(new_spec)}", type="primary", on_click=open_dataset, args=(new_spec.name,))


if not spec.is_cached() and not download_prompt(spec):
    upload_section()
    st.stop()

try:
    with st.spinner(f"Loading {dataset_title(spec)}"):
        dataset = cached_dataset(spec.name, 0)
except DatasetUnavailable as exc:
    st.error(escape(exc))
    upload_section()
    st.stop()

sizes = dataset.split_sizes()
cols = st.columns(5)
cols[0].metric("Classes", dataset.n_classes)
cols[1].metric("Train", f"{sizes['train']:,}")
cols[2].metric("Validation", f"{sizes['val']:,}")
cols[3].metric("Test", f"{sizes['test']:,}")
view.data_metric(cols[4], dataset)

counts = pd.DataFrame([{"class": name, "split": split, "split_order": order,
                        "count": int((dataset.split(split)[1] == i).sum())}
                       for order, split in enumerate(("train", "val", "test"))
                       for i, name in enumerate(dataset.class_names)])
show_chart(charts.class_balance_chart(counts), f"{spec.name}-class-balance", width="stretch")

st.subheader("Examples from the training split")
view.data_examples(dataset, MAX_CLASSES_SHOWN)
if dataset.n_classes > MAX_CLASSES_SHOWN:
    st.caption(f"Showing the first {MAX_CLASSES_SHOWN} of {dataset.n_classes} classes.")

st.divider()
upload_section()
