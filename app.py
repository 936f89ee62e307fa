"""nnapps: the entry point. Page config and navigation over pages/."""

import streamlit as st

st.set_page_config(page_title="nnapps: see neural networks learn", page_icon=":material/hub:",
                   layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/sweeps.py", title="Sweeps", icon=":material/table_chart:"),
    st.Page("pages/playground.py", title="Playground", icon=":material/draw:"),
    st.Page("pages/inside.py", title="Inside", icon=":material/neurology:"),
    st.Page("pages/gpt.py", title="GPT", icon=":material/text_fields:"),
]

st.navigation(PAGES).run()
