"""Inside: a trained run's layers, activation functions, forward pass, training dynamics and one
backpropagation step, all read from the stored model and its recorded history."""

import copy
import zlib
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from nnapps.charts import results as charts
from nnapps.analysis.inside import (activation_curves, activation_usage, backprop_step, dense_layers, gradient_ends,
                                    hardest_item, layer_titles, natural_order, trace, vanishing_sentence)
from nnapps.models import get_family
from nnapps.analysis.playground import as_batch
from nnapps.ui import state
from nnapps.ui.charts_out import show_chart
from nnapps.ui.code_view import show_code
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.links_view import apply_link, copy_link, follow_link, sync_link
from nnapps.ui.diagrams import chain_dot, neurons_dot, unrolled_dot
from nnapps.ui.images import display_scale, to_pil
from nnapps.store.runs import RunConfig
from nnapps.ui.nav import page_link
from nnapps.ui.progress import live_progress, submit
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_run, pick_runs
from nnapps.ui.services import cached_dataset, get_store, load_predictors
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.views import view_for
from nnapps.ui.visitor import visitor

SPLIT_SEED = 0
MAX_VAL_ITEMS = 500        # validation items whose pre-activations are gathered
MAX_HIST_VALUES = 20_000   # values per layer drawn in a histogram
MAPS_SHOWN = 8             # feature maps per convolution layer
SHOWN_ENTRIES = 8          # vector entries written out in the backpropagation step
# Six layers deep, Sigmoid's gradients shrink about 50,000-fold from the last layer to the
# first on digits while ReLU's shrink about 8-fold (python -m nnapps bench; README).
DEEP_MLPS = [{"activation": a, "n_layers": 6, "width": 64} for a in ("sigmoid", "relu")]

state.init_state()
spec = dataset_picker()
store = get_store()

st.title("Inside")
st.markdown("What a trained network is made of and what it computes: its layers of neurons, the "
            "activation functions between them, the values that flow forward for one input, and "
            "the gradients that flow back to change its weights.")

def vanishing_example(spec) -> None:
    """One click to train the pair that shows the vanishing gradient on spec (where MLPs train)."""
    if spec.modality not in get_family("mlp").modalities:
        return
    if st.button("Train a deep Sigmoid MLP and a deep ReLU MLP", icon=":material/play_arrow:",
                 help="6 hidden layers of 64 neurons each, one with Sigmoid, one with ReLU"):
        # An example everyone shares, except on a visitor's own upload.
        submit([RunConfig.make(spec.name, "mlp", hparams) for hparams in DEEP_MLPS],
               example=spec.origin != "upload")
        st.rerun()  # the progress is drawn at the top of the page


linked = apply_link("inside", spec.name, store, SPLIT_SEED, single=True,
                    accept=lambda c: None if get_family(c.family).kind == "torch"
                    else "a scikit-learn baseline has no layers to look inside")
live_progress(spec.name, show_curves=False)
stored = store.list_runs(spec.name, SPLIT_SEED, visitor=visitor())
runs = [r for r in stored if r.status == "complete" and get_family(r.config.family).kind == "torch"]
if not runs:
    st.info(f"No trained neural networks on {dataset_title(spec)} yet (scikit-learn baselines have no "
            "layers to look inside).")
    page_link("pages/train.py", "Train some models", ":material/model_training:")
    vanishing_example(spec)
    st.stop()
# Named and coloured among every stored run, as on the other pages.
looks = RunLooks.of(stored)
labels = looks.labels
by_id = {r.run_id: r for r in runs}
follow_link("inside", f"inside_run_{spec.name}", linked, by_id, single=True)
run_id = pick_run("Run", list(by_id), looks, key=f"inside_run_{spec.name}")
run = by_id[run_id]
sync_link("inside", [run.config])
copy_link()
loaded, problems = load_predictors([run_id], labels)
if problems:
    st.error(escape(problems[0]))
    st.stop()
predictor = loaded[labels[run_id]]
# Hooks go on this session's own copy: the cached model serves every session's predictions.
model = copy.deepcopy(predictor.model)
dataset = cached_dataset(spec.name, SPLIT_SEED)
X_val, y_val = dataset.split("val")
if not len(y_val):  # a tiny upload may leave no validation items; look at training ones then
    X_val, y_val = dataset.split("train")
X_seen = torch.as_tensor(predictor.preprocessor.transform(X_val[:MAX_VAL_ITEMS]))
layers, _, _, _ = trace(model, X_seen[:1])
titles = layer_titles(model)  # "layers.1" -> "Layer 1: Linear 64 → 128"


def titled(name: str) -> str:
    return titles.get(name, name)


def titled_order(names) -> list[str]:
    """Layer titles in the order of the layers (natural_order of their names in the code)."""
    return [titled(n) for n in natural_order(names)]


IN_CODE = st.column_config.TextColumn("in the code", help="The layer's name in the model's code (PyTorch's "
                                      "module name), as in the code shown under *Code*")

tabs = st.tabs(["Architecture", "Activation functions", "Forward pass", "Training dynamics",
                "Backpropagation"])

# --- architecture ------------------------------------------------------------------------
with tabs[0]:
    left, right = st.columns([3, 2])
    try:
        dense = dense_layers(model)
    except ValueError:
        dense = None
    recurrent = next((layer for layer in layers if layer.kind in ("GRU", "LSTM")), None)
    if dense is not None:
        sizes = [dense[0][0].shape[1]] + [W.shape[0] for W, _, _ in dense]
        left.graphviz_chart(neurons_dot(sizes, [a for _, _, a in dense]))
        left.caption("Each circle is a neuron: it adds up its inputs, each times a weight, plus a "
                     "bias, and passes the sum through the activation function.")
    elif recurrent is not None:
        left.graphviz_chart(unrolled_dot(recurrent.kind, 4, recurrent.output_shape, len(run.class_names)))
        left.caption("One recurrent cell reads the input a step at a time, carrying a memory from "
                     "step to step; its last memory makes the prediction.")
    else:
        left.graphviz_chart(chain_dot(layers))
        left.caption("Blue boxes learn weights; yellow ones are activation functions; shapes are "
                     "per item (channels x height x width for feature maps).")
    table = pd.DataFrame([{"layer": layer.title, "output": " x ".join(map(str, layer.output_shape)),
                           "parameters": layer.params, "in the code": layer.name}
                          for layer in layers])
    right.dataframe(table, hide_index=True, width="stretch",
                    column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                   "in the code": IN_CODE})
    right.metric("Parameters in all", f"{int(table['parameters'].sum()):,}")
    show_code(run)

# --- activation functions ----------------------------------------------------------------
with tabs[1]:
    x = np.linspace(-5, 5, 201)
    curves = pd.DataFrame([{"x": float(v), "function": name, "what": what, "y": float(values[k])}
                           for name, (y, dy) in activation_curves(x).items()
                           for what, values in (("value", y), ("derivative", dy)) for k, v in enumerate(x)])
    st.markdown("Without an activation function, layers of neurons would add up to one linear map. "
                "The derivative is what backpropagation multiplies by: where it is near zero "
                "(Sigmoid and Tanh far from 0, ReLU below 0) a neuron stops learning.")
    show_chart(alt.Chart(curves).mark_line().encode(
        x="x:Q", y=alt.Y("y:Q", title=None), color=alt.Color("function:N", scale=alt.Scale(scheme="tableau10")),
        column=alt.Column("what:N", sort=["value", "derivative"], title=None),
    ).properties(width=320, height=220), "activation-functions")
    usage_by_layer = activation_usage(model, X_seen, max_values=MAX_HIST_VALUES)
    if not usage_by_layer:
        st.info(f"{labels[run_id]} has no activation layers of its own: a GRU's sigmoid and tanh "
                "gates live inside its cell.")
    else:
        st.markdown(f"**{labels[run_id]}**: what reaches each activation function on "
                    f"{len(X_seen):,} validation items.")
        usage = [{"layer": titled(name), "function": function, "units": u.units,
                  "dead units (never positive)": u.dead if function == "relu" else None,
                  "saturated (slope near 0)": u.saturated if function in ("sigmoid", "tanh") else None,
                  "at or below 0": u.negative, "in the code": name}
                 for name, (function, u, _) in usage_by_layer.items()]
        hist_rows = [pd.DataFrame({"layer": titled(name), "in the code": name, "pre-activation": values})
                     for name, (_, _, values) in usage_by_layer.items()]
        # "n/a" where a measure is not the function's (a ReLU does not saturate), not "None".
        st.dataframe(pd.DataFrame(usage), hide_index=True, width="stretch", placeholder="n/a", column_config={
            "saturated (slope near 0)": st.column_config.NumberColumn(format="percent"),
            "at or below 0": st.column_config.NumberColumn(format="percent"), "in the code": IN_CODE})
        # One panel per layer, named on its left: a colour legend would only repeat the names.
        show_chart(alt.Chart(pd.concat(hist_rows)).mark_bar(opacity=0.7).encode(
            x=alt.X("pre-activation:Q", bin=alt.Bin(maxbins=60)), y=alt.Y("count():Q", title="values"),
            color=alt.Color("layer:N", sort=titled_order(usage_by_layer), legend=None),
            row=alt.Row("layer:N", title=None, sort=titled_order(usage_by_layer),
                        header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=220)),
            tooltip=["layer:N", "in the code:N", alt.Tooltip("count():Q", title="values")],
        ).properties(height=90, width=600).resolve_scale(y="independent"), f"activations-{run_id}")

# --- forward pass --------------------------------------------------------------------------
# At first the item this run finds hardest: one backpropagation step on it shows a change.
hardest = hardest_item(model, X_seen, y_val[:len(X_seen)])
sample = int(st.sidebar.number_input(
    "Validation sample", 0, len(y_val) - 1, hardest,
    key=f"inside_sample_{run_id}", persist_state="page",
    help="The item the forward pass and the backpropagation step use; at first the one this run "
         "finds hardest (its highest loss), so that one step visibly changes the loss"))
# The chosen sample as the model takes it, for the forward pass and the backpropagation step.
x_sample = (X_seen[sample] if sample < len(X_seen)
            else torch.as_tensor(predictor.preprocessor.transform(X_val[sample:sample + 1]))[0])
# A drawing, sentence or recording sent from the Playground replaces the sample here only: it
# has no true class for the backpropagation step.
own_input = st.session_state.get(state.OWN_INPUT, {}).get(spec.name)
if own_input is not None and not st.sidebar.toggle(
        "Forward pass: your Playground input", value=True, key=f"inside_own_{spec.name}",
        help="Off: the validation sample above"):
    own_input = None
with tabs[2]:
    if own_input is not None:
        item, x_forward = own_input, torch.as_tensor(predictor.preprocessor.transform(as_batch(own_input)))[0]
        st.markdown("Your input from the Playground")
    else:
        item, x_forward = X_val[sample], x_sample
        st.markdown(f"Validation sample #{sample}, true class **{escape(dataset.class_names[y_val[sample]])}**")
    view_for(spec.modality).forward_item(item, spec)
    _, _, outputs, logits = trace(model, x_forward[None])
    for layer in layers:
        if not (layer.activation or layer.kind in ("GRU", "LSTM", "PoolStats")) or layer.name not in outputs:
            continue
        values = outputs[layer.name][0]
        st.markdown(f"**{layer.title}** ({' x '.join(map(str, values.shape))}; `{layer.name}` in the code)")
        if values.ndim == 3:  # feature maps: channels of height x width
            maps = values[:MAPS_SHOWN]
            lo, hi = float(maps.min()), float(maps.max())
            scaled = ((maps - lo) / (hi - lo + 1e-9)).numpy()
            st.image([to_pil(m[None], display_scale(m[None], 72)) for m in scaled],
                     caption=[f"map {i}" for i in range(len(scaled))])
        else:
            flat = values.flatten().numpy()
            show_chart(charts.signed_bars(flat, range(len(flat)), "unit", "activation", height=140),
                       f"activations-{layer.name}-{run_id}-{sample}", width="stretch")
    probs = torch.softmax(logits[0], dim=0).numpy()
    left, right = st.columns(2)
    left.markdown("**Logits** (the last layer's sums)")
    show_chart(charts.signed_bars(logits[0].numpy(), dataset.class_names, "class", "logit", height=200),
               f"logits-{run_id}-{sample}", left, width="stretch")
    right.markdown("**Softmax**: exp(logit) / sum of exp(logits), a probability per class")
    show_chart(charts.probability_bars(probs, dataset.class_names), f"softmax-{run_id}-{sample}", right,
               width="stretch")

# --- training dynamics -------------------------------------------------------------------
with tabs[3]:
    st.markdown("Each layer's gradient norm (how hard backpropagation pushes its weights) and weight "
                "norm over the epochs, as the training loop recorded them. In a deep Sigmoid MLP the "
                "first layers' gradients are far smaller than the last's: the vanishing gradient.")
    vanishing_example(spec)
    # The run most like this one first (a deep ReLU MLP beside the deep Sigmoid one, say). Keyed
    # per run, as the epochs below, so each run starts from its own default and keeps its choice;
    # and per set of runs, so a run that finishes later (one of the example's two) is offered.
    others = sorted((i for i in by_id if i != run_id), key=lambda i: (
        by_id[i].config.family != run.config.family,
        sum(by_id[i].config.hparams.get(k) != v for k, v in run.config.hparams.items())))
    partner_key = f"inside_dynamics_{run_id}_{zlib.crc32(' '.join(sorted(others)).encode()):08x}"
    partner = (pick_runs("Compared with", others, looks, key=partner_key, default=others[:1], max_selections=1,
                         persist_state="page")
               if others else [])
    compared = [run_id] + partner
    # The partner's layers named from its own model (it may be built otherwise).
    partner_models, _ = load_predictors(partner, labels)
    run_titles = {run_id: titles} | {i: layer_titles(partner_models[labels[i]].model)
                                     for i in partner if labels[i] in partner_models}
    rows = [{"run": labels[i], "epoch": e.epoch, "layer": run_titles.get(i, {}).get(layer, layer),
             "in the code": layer, "what": what, "norm": value}
            for i in compared for e in by_id[i].history.epochs
            for what, norms in (("gradient norm", e.grad_norms), ("weight norm", e.weight_norms))
            for layer, value in norms.items()]
    if rows:
        # The layers in the order the runs' models have them (names sort a CNN's classifier
        # before its features), the first run's first.
        layer_order = list(dict.fromkeys(row["layer"] for row in rows))
        # A column per run (the picker's key gives its colour); layers coloured and keyed below.
        show_chart(alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
            x="epoch:Q", y=alt.Y("norm:Q", scale=alt.Scale(type="log")),
            color=alt.Color("layer:N", title="Layer", sort=layer_order,
                            legend=alt.Legend(orient="bottom", columns=3, labelLimit=260)),
            column=alt.Column("run:N", title=None, sort=[labels[i] for i in compared],
                              header=alt.Header(labelFontWeight="bold", labelFontSize=13)),
            row=alt.Row("what:N", title=None),
            tooltip=["run", "layer", "in the code", "epoch", alt.Tooltip("norm:Q", format=".3g")],
        ).properties(width=300, height=180).resolve_scale(y="independent"), "gradient-and-weight-norms")
        ends = {}
        for i in compared:
            e = gradient_ends([epoch.grad_norms for epoch in by_id[i].history.epochs])
            if e is not None:  # its layers named as in the chart, from its own model
                own = run_titles.get(i, {})
                ends[labels[i]] = replace(e, first_layer=own.get(e.first_layer, e.first_layer),
                                          last_layer=own.get(e.last_layer, e.last_layer))
        st.markdown(vanishing_sentence(ends))
    epochs = run.history.epochs
    if epochs and epochs[-1].weight_hists:
        chosen = st.multiselect("Weight histograms at epochs", [e.epoch for e in epochs],
                                default=sorted({epochs[0].epoch, epochs[-1].epoch}),
                                key=f"inside_hist_epochs_{run_id}", persist_state="page")
        hist = [{"layer": titled(layer), "in the code": layer, "epoch": str(e.epoch),
                 "from": h["lo"] + (h["hi"] - h["lo"]) * k / len(h["counts"]),
                 "to": h["lo"] + (h["hi"] - h["lo"]) * (k + 1) / len(h["counts"]), "weights": c}
                for e in epochs if e.epoch in chosen for layer, h in e.weight_hists.items()
                for k, c in enumerate(h["counts"])]
        if hist:
            # y2 at 0: with x and x2 both given, a bar without it is drawn as a thin dash at its count.
            show_chart(alt.Chart(pd.DataFrame(hist)).mark_bar(opacity=0.55).encode(
                x=alt.X("from:Q", title="weight"), x2="to:Q", y=alt.Y("weights:Q", stack=None), y2=alt.datum(0),
                color=alt.Color("epoch:N", legend=alt.Legend(orient="top")),
                facet=alt.Facet("layer:N", columns=3, title=None, sort=titled_order(epochs[-1].weight_hists),
                                header=alt.Header(labelLimit=240)),
                tooltip=["layer:N", "in the code:N", "epoch:N", alt.Tooltip("from:Q", format=".3g"),
                         alt.Tooltip("to:Q", format=".3g"), "weights:Q"],
            ).properties(width=190, height=140).resolve_scale(x="independent", y="independent"),
                f"weight-histograms-{run_id}")
    else:
        st.caption("This run was trained before weight histograms were recorded; retrain it to see them.")

# --- one backpropagation step -------------------------------------------------------------
with tabs[4]:
    if dense is None:
        st.info("The step is written out for MLPs (dense layers and activation functions). Pick an "
                "MLP run to see every number.")
    else:
        lr = st.number_input("Learning rate of this one step", 1e-4, 10.0, 0.1, format="%.4f", key="inside_lr",
                             help="Large on purpose, so one step visibly changes the loss")
        step = backprop_step(dense, x_sample.numpy(), int(y_val[sample]), lr)
        target = dataset.class_names[step.target]
        which = ", the one this run finds hardest" if sample == hardest else ""
        st.markdown(f"Sample #{sample}{which} (true class **{escape(target)}**). Loss = -log p(true class) = "
                    f"-log {step.probabilities[step.target]:.4f} = **{step.loss:.4f}**. After one step of "
                    f"size {lr:g} against the gradient, the loss is **{step.loss_after:.4f}**.")
        st.latex(r"z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)},\quad a^{(l)} = f(z^{(l)}),\quad "
                 r"p = \mathrm{softmax}(z^{(L)}),\quad L = -\log p_y")
        st.latex(r"\frac{\partial L}{\partial z^{(L)}} = p - \mathrm{onehot}(y),\quad "
                 r"\frac{\partial L}{\partial W^{(l)}} = \frac{\partial L}{\partial z^{(l)}} a^{(l-1)\top},\quad "
                 r"\frac{\partial L}{\partial b^{(l)}} = \frac{\partial L}{\partial z^{(l)}}")
        # A line of its own: on one line with the three above, 1280 px cut off its end.
        st.latex(r"\frac{\partial L}{\partial z^{(l-1)}} = "
                 r"\left(W^{(l)\top} \frac{\partial L}{\partial z^{(l)}}\right) \odot f'(z^{(l-1)})")
        st.latex(r"W \leftarrow W - \eta \frac{\partial L}{\partial W},\quad "
                 r"b \leftarrow b - \eta \frac{\partial L}{\partial b}")
        for number, layer_step in reversed(list(enumerate(step.layers, start=1))):
            name = "output layer" if number == len(step.layers) else f"hidden layer {number} ({layer_step.activation})"
            st.markdown(f"**Layer {number}: {name}**, W is {layer_step.W.shape[0]} x {layer_step.W.shape[1]}; "
                        f"the first {SHOWN_ENTRIES} of {len(layer_step.z)} units")
            shown = slice(0, SHOWN_ENTRIES)
            st.dataframe(pd.DataFrame({"z = Wa + b": layer_step.z[shown], "a = f(z)": layer_step.a[shown],
                                       "dL/dz": layer_step.dz[shown], "dL/db": layer_step.db[shown],
                                       "b after": (layer_step.b - lr * layer_step.db)[shown]}),
                         width="stretch", column_config={
                             **{c: st.column_config.NumberColumn(format="%.5f")
                                for c in ("z = Wa + b", "a = f(z)", "b after")},
                             **{c: st.column_config.NumberColumn(format="%.3e") for c in ("dL/dz", "dL/db")}})
            st.caption(f"|dL/dW| = {np.linalg.norm(layer_step.dW):.5f}; its largest entry "
                       f"{np.abs(layer_step.dW).max():.5f}. These numbers are computed by hand (numpy, "
                       "float64) and checked against PyTorch's autograd by the tests.")
