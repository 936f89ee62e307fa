"""Home: what nnapps does, a one-click example, and the datasets and models at a glance."""

import pandas as pd
import streamlit as st

from nnapps.examples import EXAMPLES, time_sentence
from nnapps.models import CLASSIFIERS
from nnapps.ui import state
from nnapps.ui.nav import page_link, switch_page
from nnapps.ui.progress import submit
from nnapps.ui.sidebar import visible_specs

state.init_state()

st.title("nnapps")
st.markdown(
    "Train small neural networks on your choice of data and watch them learn, then put them "
    "side by side: training curves, confusion matrices and each model's probability for every "
    "test example. Every run is stored, so nothing is lost on reload, and the same settings "
    "always give the same numbers.")

st.subheader("Try it in one click")
for column, example in zip(st.columns(len(EXAMPLES)), EXAMPLES):
    with column.container(border=True, height="stretch"):
        st.markdown(f"{example.text} {time_sentence(example)}.")
        if st.button(example.label, type="primary", icon=":material/play_arrow:"):
            submit(example.configs(), example=True)
            st.session_state[state.DATASET] = example.dataset
            switch_page("pages/compare.py")

st.subheader("What you can do here")
LINKS = (("pages/data.py", "Data: browse a dataset or upload your own", ":material/dataset:"),
         ("pages/train.py", "Train: pick architectures and train them", ":material/model_training:"),
         ("pages/compare.py", "Compare: runs side by side", ":material/compare_arrows:"),
         ("pages/playground.py", "Playground: try your own input", ":material/draw:"),
         ("pages/inside.py", "Inside: neurons, activations, gradients", ":material/neurology:"),
         ("pages/gpt.py", "GPT: how a tiny GPT picks the next character", ":material/text_fields:"))
# Two to a row: at three, a 1280 px window cuts the longer labels short.
for column, (page, label, icon) in zip(st.columns(2) + st.columns(2) + st.columns(2), LINKS):
    page_link(page, label, icon, column)

st.subheader("Datasets")
st.dataframe(pd.DataFrame([{"name": s.name, "dataset": s.title, "kind": s.modality, "origin": s.origin,
                            "licence": s.licence} for s in visible_specs().values()]),
             hide_index=True, width="stretch")

st.subheader("Models")
st.dataframe(pd.DataFrame([{"name": f.name, "model": f.title, "data": ", ".join(f.modalities),
                            "what it is": f.description,
                            "settings": ", ".join(p.label for p in f.schema)}
                           for f in CLASSIFIERS.values()]),
             hide_index=True, width="stretch", height="content")  # every model, not a scrolled ten
