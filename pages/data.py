"""Data: browse a dataset (images per class, class balance, splits, origin) or upload your own."""

import numpy as np
import pandas as pd
import streamlit as st

from nnapps import charts
from nnapps.data import DatasetUnavailable, load_dataset
from nnapps.data.uploads import MAX_ARCHIVE_BYTES, store_archive
from nnapps.ui import state
from nnapps.ui.images import display_scale, to_pil
from nnapps.ui.services import cached_dataset
from nnapps.ui.sidebar import dataset_picker

IMAGES_PER_CLASS = 8
MAX_CLASSES_SHOWN = 20

state.init_state()
spec = dataset_picker()

st.title(spec.title)
st.markdown(spec.description)
st.caption(f"Origin: {spec.origin} · Licence: {spec.licence}"
           + (f" · [source]({spec.source_url})" if spec.source_url else ""))


def download_prompt() -> bool:
    """For a dataset not downloaded yet: a button that fetches it with a progress bar."""
    st.info(f"{spec.title} is not on this machine yet. It is downloaded once and cached.")
    if not st.button(f"Download {spec.title}", icon=":material/download:"):
        return False
    bar = st.progress(0.0, text="starting the download")
    try:
        load_dataset(spec.name, 0, progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
    except DatasetUnavailable as exc:
        bar.empty()
        st.error(str(exc))
        return False
    return True


if not spec.is_cached() and not download_prompt():
    st.stop()

try:
    with st.spinner(f"Loading {spec.title}"):
        dataset = cached_dataset(spec.name, 0)
except DatasetUnavailable as exc:
    st.error(str(exc))
    st.stop()

sizes = dataset.split_sizes()
cols = st.columns(5)
cols[0].metric("Classes", dataset.n_classes)
cols[1].metric("Train", f"{sizes['train']:,}")
cols[2].metric("Validation", f"{sizes['val']:,}")
cols[3].metric("Test", f"{sizes['test']:,}")
cols[4].metric("Input", " x ".join(str(d) for d in dataset.input_shape),
               help="channels x height x width")

counts = pd.DataFrame([{"class": name, "split": split, "split_order": order,
                        "count": int((dataset.split(split)[1] == i).sum())}
                       for order, split in enumerate(("train", "val", "test"))
                       for i, name in enumerate(dataset.class_names)])
st.altair_chart(charts.class_balance_chart(counts), width="stretch")

st.subheader("Examples from the training split")
X_train, y_train = dataset.split("train")
rng = np.random.default_rng(0)
for i, name in enumerate(dataset.class_names[:MAX_CLASSES_SHOWN]):
    idx = np.flatnonzero(y_train == i)
    picks = rng.choice(idx, size=min(IMAGES_PER_CLASS, len(idx)), replace=False) if len(idx) else []
    row = st.columns([1, 8])
    row[0].markdown(f"**{name}**  \n{len(idx):,} images")
    if len(picks):
        scale = display_scale(X_train[picks[0]], 64)
        row[1].image([to_pil(X_train[j], scale) for j in picks])
if dataset.n_classes > MAX_CLASSES_SHOWN:
    st.caption(f"Showing the first {MAX_CLASSES_SHOWN} of {dataset.n_classes} classes.")

st.divider()
st.subheader("Use your own images")
st.markdown("Upload a **zip with one folder per class** (for example `cats/` and `dogs/`), each "
            "holding PNG or JPEG images. Images are resized to 32x32; at least two classes with "
            "two images each.")


def open_dataset(name: str) -> None:
    st.session_state[state.DATASET] = name


upload = st.file_uploader("Zip of class folders", type=["zip"], key="image_upload",
                          max_upload_size=MAX_ARCHIVE_BYTES // 2**20)
if upload is not None:
    try:
        new_spec = store_archive(upload.getvalue(), upload.name)
    except DatasetUnavailable as exc:
        st.error(f"{upload.name} could not be used: {exc}")
    else:
        st.success(f"Stored {new_spec.title}: {new_spec.description}")
        # The sidebar's dataset widget is drawn already: its key may only change in a callback.
        st.button(f"Open {new_spec.title}", type="primary", on_click=open_dataset, args=(new_spec.name,))
