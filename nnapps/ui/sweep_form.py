"""The Train page's sweep mode: any setting given several values, a seeds count, the trials and
their time counted before starting; then the sweep's live progress."""

import streamlit as st

from nnapps.ui.escape import escape
from nnapps import limits
from nnapps.data import DatasetSpec
from nnapps.features import feature_schema
from nnapps.models import families_for, get_family
from nnapps.sweeps.jobs import SweepRunner
from nnapps.sweeps.plan import Sweep, trials
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from nnapps.training.loop import train_defaults
from nnapps.ui import state
from nnapps.ui.services import get_queue, get_store
from nnapps.ui.visitor import visitor

VALUES_HELP = ("Several values: a list (0.001, 0.003) or a range with a count, linear lin:16:128:4 or "
               "logarithmic log:1e-4:1e-2:5. One value fixes the setting.")
MAX_SEEDS = 10


def get_sweeps() -> SweepRunner:
    """The sweeps on this server's training queue. Made afresh (it holds only the queue and the
    store), so it never outlives a queue that a cleared cache closed."""
    return SweepRunner(get_queue())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _text_inputs(schema, defaults: dict, key: str, shown: set[str]) -> dict[str, str]:
    """A text box per setting not shown yet; the ones changed from their default, as typed."""
    changed = {}
    params = [p for p in schema if p.name not in shown]
    columns = st.columns(3)
    for i, p in enumerate(params):
        default = str(defaults.get(p.name, p.default))
        text = columns[i % 3].text_input(p.label, value=default, key=f"{key}_{p.name}", help=p.help_text)
        shown.add(p.name)
        if text.strip() != default:
            changed[p.name] = text
    return changed


def _seconds_per_epoch(dataset: str) -> dict[str, float]:
    """Per family, the mean training seconds per epoch of the runs stored on dataset."""
    seen: dict[str, list[float]] = {}
    for run in get_store().list_runs(dataset=dataset)[:200]:
        epochs = run.metrics.get("epochs_run") or 0
        if epochs:
            seen.setdefault(run.config.family, []).append(run.metrics["train_seconds"] / epochs)
    return {family: sum(v) / len(v) for family, v in seen.items()}


def _estimate(missing, dataset: str) -> str:
    """How long the missing trials take with this server's slots, from stored runs' speed."""
    speed = _seconds_per_epoch(dataset)
    unknown = sorted({t.family for t in missing if t.family not in speed})
    if unknown:
        return f"no estimate until a run of {', '.join(get_family(f).title for f in unknown)} is stored here"
    seconds = sum(speed[t.family] * t.config.train.get("epochs", 1) for t in missing)
    slots = get_queue().max_running
    return f"about {max(seconds / slots / 60, 0.1):.1f} min of training with {slots} at once"


def sweep_form(spec: DatasetSpec) -> None:
    """The definition, its count of trials, and Start."""
    names = [f.name for f in families_for(spec.modality)]
    first = state.DEFAULT_FAMILIES.get(spec.modality, names)[0]
    chosen = st.multiselect("Models", names, default=[first if first in names else names[0]],
                            format_func=lambda n: get_family(n).title,
                            key=f"sweep_{spec.modality}_families")
    st.caption(VALUES_HELP)
    settings: dict[str, str] = {}
    shown: set[str] = {"seed"}  # the seeds count sets it
    with st.expander("Training settings", expanded=True):
        settings |= _text_inputs(TRAIN_SCHEMA, train_defaults(spec.modality), f"sweep_{spec.modality}_train",
                                 shown)
    for name in chosen:
        family = get_family(name)
        with st.expander(f"{family.title} settings", expanded=False):
            settings |= _text_inputs(family.schema, family.defaults(spec.modality), f"sweep_{spec.modality}_{name}",
                                     shown)
    if feature_schema(spec.modality).params:
        with st.expander(f"{spec.modality.capitalize()} representation", expanded=False):
            settings |= _text_inputs(feature_schema(spec.modality), {}, f"sweep_{spec.modality}_features", shown)
    n_seeds = st.number_input("Seeds per config", 1, MAX_SEEDS, 1, key="sweep_seeds",
                              help="Each config is trained with seeds 0, 1, ...: its result is the mean ± std")
    if not chosen:
        st.info("Pick at least one model.")
        return
    try:
        sweep = Sweep.make(spec.name, chosen, settings, int(n_seeds))
        found = trials(sweep)
        limits.check(limits.SWEEP_TRIALS, len(found))
    except ValueError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    bad = [t for t in found if t.config is None]
    for t in bad[:3]:
        st.warning(f"{get_family(t.family).title} {t.settings}: {escape(t.error)}")
    good = [t for t in found if t.config is not None]
    stored = {t.config.run_id for t in good if (run := get_store().get(t.config.run_id)) and run.status == "complete"}
    missing = [t for t in good if t.config.run_id not in stored]
    n_configs = len(found) // sweep.n_seeds
    st.markdown(f"**{_count(len(found), 'trial')}** ({_count(n_configs, 'config')} x {_count(sweep.n_seeds, 'seed')}): "
                f"{len(stored)} stored, {len(missing)} to train" + (f", {len(bad)} refused" if bad else "")
                + (f"; {_estimate(missing, spec.name)}." if missing else "."))
    if st.button(f"Start the sweep ({len(missing)} to train)", type="primary", icon=":material/play_arrow:",
                 disabled=not good):
        try:
            st.session_state[state.SWEEP] = get_sweeps().start(sweep, visitor())
        except ValueError as exc:  # a limit (LimitExceeded is one)
            st.error(str(exc), icon=":material/block:")
