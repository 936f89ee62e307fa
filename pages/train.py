"""Train: pick a dataset and one or more architectures, set hyperparameters, train, watch, stop."""

import streamlit as st

from nnapps import limits
from nnapps.features import feature_schema
from nnapps.models import families_for, get_family
from nnapps.store.runs import RunConfig
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from nnapps.training.loop import train_defaults
from nnapps.ui import state
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.estimates import train_caption
from nnapps.ui.nav import page_link
from nnapps.ui.progress import interrupted_jobs, live_progress, session_jobs, submit
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.sweep_form import sweep_form
from nnapps.ui.sweep_view import open_sweep_link, sweep_progress
from nnapps.ui.widgets import schema_widgets

MAX_SLOTS = 6

state.init_state()
spec = dataset_picker()
families = families_for(spec.modality)
family_names = [f.name for f in families]

st.title("Train")
if st.segmented_control("Mode", ["Train models", "Sweep"], default="Train models", key=state.TRAIN_MODE,
                        label_visibility="collapsed") == "Sweep":
    st.markdown(f"Sweeping on **{dataset_title(spec)}**: every combination of the values you give, times the seeds. "
                "Trials already stored are not trained again.")
    sweep_form(spec)
    if st.session_state.get(state.SWEEP):
        sweep_progress(st.session_state[state.SWEEP])
        open_sweep_link(st.session_state[state.SWEEP])
    st.stop()
st.markdown(f"Training on **{dataset_title(spec)}**. Add the architectures you want to compare; each gets "
            "its own hyperparameters. Runs are stored: training a setting again returns it at once.")


def add_slot() -> None:
    st.session_state[state.TRAIN_SLOTS].append({"id": st.session_state[state.NEXT_SLOT],
                                                 "family": family_names[0]})
    st.session_state[state.NEXT_SLOT] += 1


def remove_slot(slot_id: int) -> None:
    st.session_state[state.TRAIN_SLOTS] = [s for s in st.session_state[state.TRAIN_SLOTS]
                                           if s["id"] != slot_id]


def architecture_slot(slot: dict, position: int, column, modality: str, family_names: list[str]) -> dict:
    """One architecture: its family (one of family_names) and that family's hyperparameter widgets."""
    with column.container(border=True):
        key = f"slot{slot['id']}"
        defaults = state.DEFAULT_FAMILIES.get(modality, family_names)
        current = slot["family"] if slot["family"] in family_names else defaults[position % len(defaults)]
        name = st.selectbox("Model", family_names, index=family_names.index(current),
                            format_func=lambda n: get_family(n).title, key=f"{key}_{modality}_family")
        slot["family"] = name
        family = get_family(name)
        st.caption(family.description)
        hparams = schema_widgets(family.schema, f"{key}_{modality}_{name}", n_columns=2,
                                 defaults=family.defaults(modality))
        if len(st.session_state[state.TRAIN_SLOTS]) > 1:
            st.button("Remove", key=f"{key}_remove", on_click=remove_slot, args=(slot["id"],),
                      icon=":material/delete:")
    return {"family": name, "hparams": hparams}


slots = st.session_state[state.TRAIN_SLOTS]
columns = st.columns(min(len(slots), 3))
choices = [architecture_slot(slot, i, columns[i % len(columns)], spec.modality, family_names)
           for i, slot in enumerate(slots)]
st.button("Add an architecture", on_click=add_slot, disabled=len(slots) >= MAX_SLOTS,
          icon=":material/add:")

with st.expander("Training settings (shared by the networks)", expanded=False):
    train = schema_widgets(TRAIN_SCHEMA, f"train_{spec.modality}", n_columns=3,
                           defaults=train_defaults(spec.modality))
    st.caption("The scikit-learn baselines use their own solver and only the seed.")

features: dict = {}
if feature_schema(spec.modality).params:
    with st.expander(f"{spec.modality.capitalize()} representation (shared)", expanded=False):
        features = schema_widgets(feature_schema(spec.modality), f"features_{spec.modality}", n_columns=4)
        st.caption("Fitted on the training split only and saved with each run, so your own input "
                   "later goes through exactly the same steps.")


def set_seeds(n: int) -> None:
    st.session_state[state.TRAIN_SEEDS] = n


max_seeds = limits.SEEDS.value()  # inf when the limit is off
seed_cols = st.columns([1, 1, 4], vertical_alignment="bottom")
n_seeds = seed_cols[0].number_input(
    "Seeds", 1, int(max_seeds) if max_seeds < float("inf") else None, 1, key=state.TRAIN_SEEDS,
    help="Train each architecture this many times, with seeds seed, seed + 1, ...: Compare then "
         "shows the mean and spread, and whether a difference between models is real or luck"
         + (f" (at most {max_seeds:g} on this copy, {limits.SEEDS.variable})." if max_seeds < float("inf") else "."))
seed_cols[1].button("3 seeds", on_click=set_seeds, args=(3,), key="three_seeds", disabled=max_seeds < 3)

configs = []
errors = []
for choice in choices:
    try:
        for i in range(int(n_seeds)):
            config = RunConfig.make(spec.name, choice["family"], choice["hparams"],
                                    {**train, "seed": train["seed"] + i}, features=features,
                                    modality=spec.modality)
            limits.check(limits.EPOCHS, config.train.get("epochs", 0))
            configs.append(config)
    except ValueError as exc:
        errors.append(f"{get_family(choice['family']).title}: {exc}")
for error in errors:
    st.error(escape(error))
unique = list({c.run_id: c for c in configs}.values())
jobs = session_jobs(spec.name)
busy = any(not j.finished for j in jobs)
label = f"Train {len(unique)} model{'s' if len(unique) != 1 else ''}"
if st.button(label, type="primary", icon=":material/play_arrow:", disabled=busy or not unique or bool(errors)):
    if len(submit(unique)) == len(unique):
        st.rerun()  # else the page keeps the message that says why not
if len(unique) < len(configs):
    st.caption("Identical architectures are trained once.")
if unique and not errors and not busy and (estimate := train_caption(unique)):
    st.caption(estimate)

interrupted_jobs(lambda config: config.dataset == spec.name, "train")
live_progress(spec.name)
if jobs and all(j.finished for j in jobs):
    page_link("pages/compare.py", "Compare these runs", ":material/compare_arrows:")
