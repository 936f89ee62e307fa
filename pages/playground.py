"""Playground: your own drawing, text or recording against every chosen model, side by side."""

import numpy as np
import streamlit as st

from nnapps.charts import results as charts
from nnapps.models import get_family
from nnapps.analysis.playground import InputError, best_per_family, predict_all
from nnapps.ui import state
from nnapps.ui.charts_out import show_chart
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.links_view import apply_link, copy_link, follow_link, sync_link
from nnapps.ui.nav import page_link, switch_page
from nnapps.ui.progress import live_progress
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_runs
from nnapps.ui.services import get_store, load_predictors
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.views import view_for
from nnapps.ui.visitor import visitor

SPLIT_SEED = 0
RESULTS_PER_ROW = 4
LAST_ITEM = "playground_last_item"   # dataset name -> the last input that worked

state.init_state()
spec = dataset_picker()
view = view_for(spec.modality)
store = get_store()

st.title("Playground")
st.markdown("Give every model the same input of yours and see what each one makes of it: a "
            "probability for every class, the most probable one taken as the answer.")

linked = apply_link("playground", spec.name, store, SPLIT_SEED)
live_progress(spec.name, show_curves=False)
stored = store.list_runs(spec.name, SPLIT_SEED, visitor=visitor())
runs = [r for r in stored if r.status == "complete"]
if not runs:
    st.info(f"No trained models on {dataset_title(spec)} yet.")
    page_link("pages/train.py", "Train some models", ":material/model_training:")
    st.stop()
# Named and coloured among every stored run, as on the other pages.
looks = RunLooks.of(stored)
labels = looks.labels
by_id = {r.run_id: r for r in runs}
runs_key = f"playground_runs_{spec.name}"
follow_link("playground", runs_key, linked, by_id)
# A default beside a value set through session state (a link's runs) would warn: one or the other.
best = None if runs_key in st.session_state else [r.run_id for r in best_per_family(runs)]
chosen_ids = pick_runs("Models", list(by_id), looks, key=runs_key, default=best,
                       help="At first, the best run of each model family")
sync_link("playground", [by_id[i].config for i in chosen_ids])
copy_link()
if not chosen_ids:
    st.info("Pick at least one model.")
    st.stop()
predictors, problems = load_predictors(chosen_ids, labels)
for problem in problems:
    st.warning(escape(problem))
if not predictors:
    st.stop()
class_names = by_id[chosen_ids[0]].class_names

last_items = st.session_state.setdefault(LAST_ITEM, {})
try:
    item = view.own_input(spec, predictors, SPLIT_SEED)
except InputError as err:
    st.error(escape(err))
    item = last_items.get(spec.name)
    if item is not None:
        st.caption("Below: the results for your last input that worked.")
if item is None:
    st.stop()
last_items[spec.name] = item

probas = predict_all(predictors, item)
st.subheader("What each model says")
tops = {name: int(np.argmax(p)) for name, p in probas.items()}
summary = " · ".join(f"{name} → **{escape(class_names[i])}** ({probas[name][i]:.0%})" for name, i in tops.items())
agree = len(set(tops.values())) == 1
st.markdown(summary + ("  \nAll models agree." if agree or len(tops) == 1 else "  \n**The models disagree.**"))
names = list(probas)
id_of = {labels[i]: i for i in chosen_ids}
for start in range(0, len(names), RESULTS_PER_ROW):
    for col, name in zip(st.columns(RESULTS_PER_ROW), names[start:start + RESULTS_PER_ROW]):
        with col.container(border=True):
            st.markdown(f"**{name}**")
            st.metric("prediction", escape(class_names[tops[name]]), f"{probas[name][tops[name]]:.0%} sure",
                      delta_color="off", delta_arrow="off")
            run = by_id[id_of[name]]
            show_chart(charts.probability_bars(probas[name], class_names, colour=looks.colours[run.run_id]),
                       f"playground-{name}", width="stretch")
            if get_family(run.config.family).kind == "torch" and st.button(
                    f"Look inside with this {view.input_word}", key=f"playground_inside_{run.run_id}",
                    icon=":material/neurology:", help="The Inside page's forward pass, for this input"):
                st.session_state[state.OWN_INPUT] = {spec.name: item}
                st.session_state[f"inside_run_{spec.name}"] = run.run_id
                switch_page("pages/inside.py")

view.own_input_more(item, predictors, class_names)
