"""Show the code: a run's standalone PyTorch script, to read, copy or download."""

import streamlit as st

from nnapps.store.code_export import model_script
from nnapps.store.runs import Run


def show_code(run: Run) -> None:
    with st.expander("Show the code", icon=":material/code:"):
        st.markdown("A standalone PyTorch script that rebuilds this model from its config and loads "
                    "its weights: the app's own classes, nothing else from nnapps. Its weights are "
                    "in the run's bundle (Compare page).")
        script = model_script(run)
        st.download_button("Download the script", script, file_name=f"{run.config.family}_{run.run_id}.py",
                           mime="text/x-python", icon=":material/download:", on_click="ignore",
                           key=f"script_{run.run_id}")
        st.code(script, language="python", line_numbers=True)
