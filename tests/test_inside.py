"""Inside a network: hook-based capture for every family, unit usage on crafted weights, the
hand-written backpropagation step against autograd, the weight histograms training records, and
the Inside page's numbers in AppTest (the run it shows, the vanishing gradient in words, the
sample the backpropagation step starts on)."""

import json
import re

import numpy as np
import pytest
import torch
from torch import nn

from nnapps.analysis.inside import (SATURATION, activation_curves, activation_usage, backprop_step, dense_layers,
                                    forward_dense, pre_activations, trace, unit_usage)
from nnapps.models import CLASSIFIERS
from nnapps.models.mlp import MLP, MLPConfig
from nnapps.training.loop import TensorData, TrainConfig, WEIGHT_BINS, fit
from model_inputs import family_infos, small_batch
from page_helpers import assert_ok, button, open_page, poll, texts
from test_pages import chart_data, charts_by_field, validation_items

# Page tests here get their own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")

TORCH_FAMILIES = [name for name, f in CLASSIFIERS.items() if f.kind == "torch"]
N_CLASSES = 3


@pytest.mark.parametrize("name, info", family_infos(TORCH_FAMILIES))
def test_trace_captures_every_layer_of_every_family(name, info):
    torch.manual_seed(0)
    model = CLASSIFIERS[name].make({}, info, N_CLASSES).eval()
    X, _ = small_batch(info, n=5)
    layers, inputs, outputs, logits = trace(model, X)
    with torch.no_grad():
        expected = model(X)
    torch.testing.assert_close(logits, expected)  # the hooks change nothing
    assert layers and all(layer.name for layer in layers)
    # every leaf that ran has an output of batch 5, and its shape per item is recorded
    ran = [layer for layer in layers if layer.name in outputs]
    assert ran
    for layer in ran:
        assert outputs[layer.name].shape[0] == 5 and tuple(outputs[layer.name].shape[1:]) == layer.output_shape
    assert sum(layer.params for layer in layers) == sum(p.numel() for p in model.parameters())
    # an activation layer's captured input is what its function was applied to
    for layer in ran:
        if layer.activation and layer.name in inputs:
            module = dict(model.named_modules())[layer.name]
            torch.testing.assert_close(module(inputs[layer.name]), outputs[layer.name])
    assert model.training is False


def test_trace_restores_training_mode():
    model = MLP(MLPConfig(input_dim=4, n_classes=2, n_layers=1, width=3)).train()
    trace(model, torch.randn(2, 4))
    assert model.training


def test_pre_activations_put_units_on_axis_one():
    torch.manual_seed(0)
    mlp = MLP(MLPConfig(input_dim=6, n_classes=2, n_layers=2, width=5))
    pre = pre_activations(mlp, torch.randn(7, 6))
    assert [v.shape for _, v in pre.values()] == [(7, 5), (7, 5)]
    # a dense layer applied to every token: features move from the last axis to axis 1
    seq = nn.Sequential(nn.Linear(4, 9), nn.ReLU())
    (function, values), = pre_activations(seq, torch.randn(2, 11, 4)).values()
    assert function == "relu" and values.shape == (2, 9, 11)
    # a convolution's channels already are axis 1
    conv = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh())
    (function, values), = pre_activations(conv, torch.randn(2, 1, 5, 5)).values()
    assert function == "tanh" and values.shape == (2, 3, 5, 5)


def crafted_relu_layer() -> tuple[nn.Sequential, torch.Tensor]:
    """4 ReLU units on inputs in [0, 1]: unit 0 and 2 are dead (bias -10 with small weights)."""
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.1, 0.1, 0.1], [1.0, 0.0, 0.0], [-1.0, -1.0, -1.0], [0.0, 1.0, 0.0]]))
        linear.bias.copy_(torch.tensor([-10.0, 0.5, 0.0, -0.5]))
    return nn.Sequential(linear, nn.ReLU()), torch.rand(50, 3, generator=torch.Generator().manual_seed(0))


def test_dead_relu_units_on_crafted_weights():
    model, X = crafted_relu_layer()
    (function, values), = pre_activations(model, X).values()
    usage = unit_usage(function, values)
    assert usage.units == 4 and usage.dead == 2 and usage.dead_share == 0.5
    assert usage.saturated == 0.0
    expected_negative = float((X @ model[0].weight.T + model[0].bias <= 0).float().mean())
    assert usage.negative == pytest.approx(expected_negative)


@pytest.mark.parametrize("function, module", [("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh())])
def test_saturated_share_on_crafted_weights(function, module):
    linear = nn.Linear(1, 2)
    with torch.no_grad():  # unit 0 sits far out on the flat part, unit 1 near zero
        linear.weight.copy_(torch.tensor([[0.0], [0.0]]))
        linear.bias.copy_(torch.tensor([SATURATION[function] + 1.0, 0.1]))
    (name, values), = pre_activations(nn.Sequential(linear, module), torch.randn(20, 1)).values()
    usage = unit_usage(name, values)
    assert name == function and usage.saturated == 0.5 and usage.dead == 0


def test_a_dead_convolution_channel_is_counted_once():
    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.copy_(torch.tensor([-5.0, 0.0]))  # inputs in [0, 1]: channel 0 never fires
    (function, values), = pre_activations(nn.Sequential(conv, nn.ReLU()), torch.rand(3, 1, 4, 4)).values()
    assert unit_usage(function, values).dead == 1 and unit_usage(function, values).units == 2


def test_activation_curves_match_the_known_derivatives():
    x = np.linspace(-4, 4, 41)
    curves = activation_curves(x)
    assert set(curves) == {"relu", "sigmoid", "tanh", "gelu"}
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(curves["sigmoid"][1], s * (1 - s), atol=1e-12)
    np.testing.assert_allclose(curves["tanh"][1], 1 - np.tanh(x) ** 2, atol=1e-12)
    np.testing.assert_allclose(curves["relu"][0], np.maximum(x, 0))
    assert curves["relu"][1][x > 0].min() == 1 and curves["relu"][1][x < 0].max() == 0


def autograd_reference(layers, x, target, lr):
    """The same network in torch float64: loss, each W and b gradient, and the loss after SGD."""
    Ws = [torch.tensor(W, requires_grad=True) for W, _, _ in layers]
    bs = [torch.tensor(b, requires_grad=True) for _, b, _ in layers]
    acts = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "gelu": nn.functional.gelu, "": lambda z: z}

    def loss_of(Ws, bs):
        a = torch.tensor(np.asarray(x, dtype=np.float64).reshape(-1))
        for (_, _, act), W, b in zip(layers, Ws, bs):
            a = acts[act](W @ a + b)
        return nn.functional.cross_entropy(a[None], torch.tensor([target]))

    loss = loss_of(Ws, bs)
    loss.backward()
    with torch.no_grad():
        after = loss_of([W - lr * W.grad for W in Ws], [b - lr * b.grad for b in bs])
    return loss.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs], after.item()


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
def test_backprop_step_matches_autograd(activation):
    torch.manual_seed(1)
    model = MLP(MLPConfig(input_dim=6, n_classes=4, n_layers=3, width=5, activation=activation))
    layers = dense_layers(model)
    assert [a for _, _, a in layers] == [activation] * 3 + [""]
    x = np.random.default_rng(0).normal(size=6)
    step = backprop_step(layers, x, target=2, lr=0.5)
    loss, dWs, dbs, loss_after = autograd_reference(layers, x, 2, 0.5)
    assert step.loss == pytest.approx(loss, abs=1e-6)
    assert step.loss_after == pytest.approx(loss_after, abs=1e-6)
    for layer, dW, db in zip(step.layers, dWs, dbs):
        np.testing.assert_allclose(layer.dW, dW, atol=1e-6)
        np.testing.assert_allclose(layer.db, db, atol=1e-6)
    # the forward values are the model's own (float32 there, float64 here)
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.float32)[None])[0].numpy()
    np.testing.assert_allclose(step.layers[-1].z, logits, atol=1e-4)
    assert step.probabilities.sum() == pytest.approx(1.0)
    assert step.loss_after < step.loss  # a small enough step down the gradient lowers the loss


def test_forward_dense_applies_no_activation_after_the_last_layer():
    layers = [(np.eye(2), np.zeros(2), "relu"), (np.eye(2), np.zeros(2), "")]
    steps = forward_dense(layers, np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(steps[0].a, [0.0, 2.0])
    np.testing.assert_array_equal(steps[1].a, steps[1].z)


def test_dense_layers_refuse_what_is_not_an_mlp():
    with pytest.raises(ValueError, match="only dense layers"):
        dense_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="no dense layers"):
        dense_layers(nn.Sequential(nn.Flatten()))


def test_training_records_weight_histograms_per_layer():
    torch.manual_seed(0)
    model = MLP(MLPConfig(input_dim=4, n_classes=2, n_layers=1, width=3))
    X, y = torch.randn(40, 4), torch.arange(40) % 2
    history = fit(model, TensorData(X, y, X[:10], y[:10]), TrainConfig(epochs=2, patience=0))
    for epoch in history.epochs:
        assert set(epoch.weight_hists) == set(epoch.weight_norms)
        for hist in epoch.weight_hists.values():
            assert len(hist["counts"]) == WEIGHT_BINS and hist["lo"] < hist["hi"]
    last = history.epochs[-1].weight_hists["layers.1"]
    weights = torch.cat([model.layers[1].weight.flatten(), model.layers[1].bias.flatten()])
    assert sum(last["counts"]) == weights.numel()
    assert last["lo"] == pytest.approx(weights.min().item()) and last["hi"] == pytest.approx(weights.max().item())


def test_activation_usage_in_batches_equals_the_whole_at_once():
    torch.manual_seed(0)
    model = MLP(MLPConfig(input_dim=6, n_classes=2, n_layers=2, width=9, activation="tanh"))
    with torch.no_grad():
        model.layers[1].bias.fill_(2.0)  # push some units onto the flat part of tanh
    X = torch.randn(50, 6)
    whole = {name: unit_usage(function, values) for name, (function, values) in pre_activations(model, X).items()}
    batched = activation_usage(model, X, batch=7, max_values=30)
    assert set(batched) == set(whole)
    for name, (function, usage, sample) in batched.items():
        assert function == "tanh"
        assert usage.units == whole[name].units
        assert usage.saturated == pytest.approx(whole[name].saturated)
        assert usage.negative == pytest.approx(whole[name].negative)
        assert 0 < len(sample) <= 8 * (30 // 8)  # 8 batches, an equal share of values from each
    assert any(u.saturated > 0 for _, u, _ in batched.values())


def test_weight_histograms_of_diverged_weights_skip_what_is_not_finite():
    from nnapps.training.loop import layer_groups, weight_histograms
    model = MLP(MLPConfig(input_dim=3, n_classes=2, n_layers=1, width=2))
    with torch.no_grad():
        model.layers[1].weight.fill_(float("nan"))
        model.layers[1].bias.copy_(torch.tensor([1.0, float("inf")]))
        model.layers[3].weight.fill_(float("nan"))
        model.layers[3].bias.fill_(float("nan"))
    hists = weight_histograms(*layer_groups(model))
    assert sum(hists["layers.1"]["counts"]) == 1 and hists["layers.1"]["lo"] == 1.0  # the one finite bias
    assert hists["layers.3"]["counts"] == []


# --- the Inside page's numbers ---------------------------------------------------------------

def test_layers_sort_as_a_person_counts():
    from nnapps.analysis.inside import natural_order
    assert natural_order(["layers.10", "layers.2", "layers.1", "head", "blocks.0.attn", "blocks.10.attn",
                          "blocks.9.attn"]) == ["blocks.0.attn", "blocks.9.attn", "blocks.10.attn", "head",
                                                "layers.1", "layers.2", "layers.10"]


def test_gradient_ends_are_geometric_means_of_the_first_and_last_layer():
    from nnapps.analysis.inside import gradient_ends
    epochs = [{"layers.1": 1e-6, "layers.3": 1e-3, "layers.11": 0.1},
              {"layers.1": 1e-4, "layers.3": 1e-2, "layers.11": 0.1}]
    ends = gradient_ends(epochs)
    assert (ends.first_layer, ends.last_layer, ends.n_epochs) == ("layers.1", "layers.11", 2)
    assert ends.first == pytest.approx(1e-5) and ends.last == pytest.approx(0.1)
    assert ends.orders_first_below_last == pytest.approx(4.0)
    assert gradient_ends([{"layers.1": 0.5}]) is None and gradient_ends([]) is None
    # a layer whose norm was 0 in some epoch cannot be averaged in log: the next one is used
    assert gradient_ends([{"a.1": 0.0, "a.2": 1.0, "a.3": 2.0}]).first_layer == "a.2"
    # the model's order, not the names': a CNN's classifier comes after its features
    cnn = gradient_ends([{"features.0": 0.1, "features.3": 0.2, "classifier.1": 0.8}])
    assert (cnn.first_layer, cnn.last_layer) == ("features.0", "classifier.1")


def test_the_vanishing_sentence_says_by_how_many_orders_from_the_numbers():
    from nnapps.analysis.inside import GradientEnds, vanishing_sentence
    sigmoid = GradientEnds("layers.1", 2e-5, "layers.13", 0.4, 20)
    relu = GradientEnds("layers.1", 0.2, "layers.13", 0.4, 20)
    text = vanishing_sentence({"Deep sigmoid": sigmoid, "Deep relu": relu})
    assert "Averaged over the 20 epochs" in text
    assert "in Deep sigmoid the first layer's gradient norm (layers.1, 2e-05) is 4.3 orders of magnitude " \
           "(about 20,000 times) smaller than the last layer's (layers.13, 0.4)" in text
    assert "in Deep relu the first layer's gradient norm (layers.1, 0.2) is 2.0 times smaller" in text
    assert text.endswith("Deep sigmoid's first layer gets gradients 4.0 orders of magnitude (about 10,000 times) "
                         "smaller than Deep relu's: the vanishing gradient, its first layers barely learn.")
    # no lesson claimed where the numbers do not show one
    close = vanishing_sentence({"A": relu, "B": GradientEnds("layers.1", 0.1, "layers.13", 0.4, 20)})
    assert "vanishing" not in close and close.endswith("B's first layer gets gradients 2.0 times smaller than A's.")
    assert vanishing_sentence({}) == ""


def test_the_hardest_item_has_the_highest_loss():
    from nnapps.analysis.inside import hardest_item
    torch.manual_seed(0)
    model = MLP(MLPConfig(input_dim=5, n_classes=3, n_layers=1, width=4))
    X, y = torch.randn(30, 5), np.arange(30) % 3
    with torch.no_grad():
        p = torch.softmax(model(X), dim=1).numpy()
    assert hardest_item(model, X, y) == int(np.argmax(-np.log(p[np.arange(30), y])))


PAGE = "pages/inside.py"


def norms_chart(at):
    (chart,) = charts_by_field(at, "y", "norm")
    return chart


def hist_chart(at):
    (chart,) = charts_by_field(at, "y", "weights")
    return chart


def geometric_mean_grad(run, layer: str) -> float:
    return float(np.exp(np.mean(np.log([e.grad_norms[layer] for e in run.history.epochs]))))


def test_the_one_click_example_states_its_lesson_in_numbers(app):
    """The deep Sigmoid MLP's first layer gets gradients orders of magnitude below the deep ReLU
    MLP's; the sentence under the chart says by how much, from the runs' recorded norms."""
    from nnapps.store.runs import RunStore

    open_page(app, PAGE)
    button(app, "Train a deep Sigmoid MLP and a deep ReLU MLP").click().run()
    poll(app, lambda at: [s for s in at.selectbox if s.key == "inside_run_digits"]
         and len(at.selectbox(key="inside_run_digits").options) == 2, "the two deep MLPs")
    runs = {r.config.hparams["activation"]: r for r in RunStore().list_runs("digits", 0)}
    assert set(runs) == {"sigmoid", "relu"} and all(r.config.hparams["n_layers"] == 6 for r in runs.values())
    # both runs are charted, whichever one is chosen
    assert set(chart_data(norms_chart(app))["run"]) == {r.label for r in runs.values()}

    layers = sorted(runs["relu"].history.epochs[0].grad_norms, key=lambda n: int(n.split(".")[1]))
    first, last = layers[0], layers[-1]
    gap = np.log10(geometric_mean_grad(runs["relu"], first) / geometric_mean_grad(runs["sigmoid"], first))
    assert gap >= 2  # the lesson: orders of magnitude, not a few times
    [sentence] = [m for m in texts(app.markdown) if m.startswith("Averaged over the")]
    assert sentence.endswith(f"{runs['sigmoid'].label}'s first layer gets gradients {gap:.1f} orders of "
                             f"magnitude (about {10 ** gap:,.0f} times) smaller than {runs['relu'].label}'s: "
                             "the vanishing gradient, its first layers barely learn.")
    shrink = np.log10(geometric_mean_grad(runs["sigmoid"], last) / geometric_mean_grad(runs["sigmoid"], first))
    # Layers named for people ("Layer 1: Linear 64 → 64"), the code's name beside them.
    norms = chart_data(norms_chart(app))
    titles = dict(zip(norms["in the code"], norms["layer"]))
    assert titles[first] == "Layer 1: Linear 64 → 64" and titles[last] == "Layer 7: Linear 64 → 10"
    assert f"in {runs['sigmoid'].label} the first layer's gradient norm ({titles[first]}, " in sentence
    assert f"is {shrink:.1f} orders of magnitude" in sentence

    # Thirteen layers counted as a person counts: layers.3 before layers.11, in every chart.
    counted = sorted({layer for r in runs.values() for layer in r.history.epochs[0].grad_norms},
                     key=lambda n: int(n.split(".")[1]))
    assert counted != sorted(counted)  # lexical order would differ
    assert json.loads(norms_chart(app).proto.spec)["encoding"]["color"]["sort"] == [titles[n] for n in counted]
    facet = json.loads(hist_chart(app).proto.spec)["encoding"]["facet"]
    assert facet["sort"] == [titles[n] for n in counted]
    for chart in charts_by_field(app, "x", "pre-activation"):
        shown = chart_data(chart)
        code_names = dict(zip(shown["layer"], shown["in the code"]))
        order = json.loads(chart.proto.spec)["encoding"]["row"]["sort"]
        assert [code_names[t] for t in order] == sorted(code_names.values(), key=lambda n: int(n.split(".")[1]))


def test_weight_histograms_are_bars_from_zero(app):
    """A bar with x and x2 but no y2 is drawn as a dash at its count (Vega-Lite): y2 is 0."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig, RunStore

    train_run(RunConfig.make("digits", "mlp", {"n_layers": 1, "width": 8}, train={"epochs": 1}), RunStore())
    open_page(app, PAGE)
    encoding = json.loads(hist_chart(app).proto.spec)["encoding"]
    assert encoding["y2"] == {"datum": 0} and encoding["x2"]["field"] == "to"


def test_a_run_that_finishes_later_is_compared(app):
    """The example's two runs finish one after the other: the second joins the chart."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig, RunStore

    first, second = (RunConfig.make("digits", "mlp", {"n_layers": 1, "width": 8, "activation": a},
                                    train={"epochs": 1}) for a in ("relu", "sigmoid"))
    first = train_run(first, RunStore())
    open_page(app, PAGE)
    assert set(chart_data(norms_chart(app))["run"]) == {first.label}
    second = train_run(second, RunStore())
    app.run()
    assert_ok(app)
    assert set(chart_data(norms_chart(app))["run"]) == {first.label, second.label}


@pytest.fixture
def three_runs(app):
    """The Inside page on digits with two MLPs (ReLU, Tanh) and a CNN, two epochs each."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig, RunStore

    store = RunStore()
    runs = [train_run(RunConfig.make("digits", family, hparams, train={"epochs": 2}), store)
            for family, hparams in (("mlp", {}), ("cnn", {}), ("mlp", {"activation": "tanh"}))]
    open_page(app, PAGE)
    return app, {r.run_id: r for r in runs}


def test_training_dynamics_and_histograms_follow_the_chosen_run(three_runs):
    at, runs = three_runs
    chosen = at.selectbox(key="inside_run_digits")
    shown = runs[chosen.value]
    charted = list(dict.fromkeys(chart_data(norms_chart(at))["run"]))
    assert shown.label in charted and len(charted) == 2
    # a histogram of one epoch for this run ...
    [picker] = [m for m in at.multiselect if m.label == "Weight histograms at epochs"]
    picker.set_value([2]).run()
    assert_ok(at)
    assert set(chart_data(hist_chart(at))["epoch"]) == {"2"}
    # ... then another run, not charted so far: its dynamics and its own histograms
    other = next(r for r in runs.values() if r.label not in charted)
    at.selectbox(key="inside_run_digits").set_value(other.run_id).run()
    assert_ok(at)
    spec = json.loads(norms_chart(at).proto.spec)
    assert other.label in set(chart_data(norms_chart(at))["run"])
    assert spec["encoding"]["column"]["sort"][0] == other.label  # the chosen run first
    assert set(chart_data(hist_chart(at))["epoch"]) == {"1", "2"}  # its first and last epochs
    own = {layer for e in other.history.epochs for layer in e.weight_hists}
    assert set(chart_data(hist_chart(at))["in the code"]) == own
    # back to the first run: its own choice of epochs is kept
    at.selectbox(key="inside_run_digits").set_value(shown.run_id).run()
    assert set(chart_data(hist_chart(at))["epoch"]) == {"2"}


def test_the_backpropagation_step_starts_on_a_sample_it_visibly_changes(three_runs):
    at, runs = three_runs
    mlp = next(r for r in runs.values() if r.config.family == "mlp")
    at.selectbox(key="inside_run_digits").set_value(mlp.run_id).run()
    assert_ok(at)
    model, X, y, _ = validation_items(mlp)
    with torch.no_grad():
        losses = nn.functional.cross_entropy(model(X), torch.as_tensor(y), reduction="none")
    hardest = int(losses.argmax())
    [sample] = [n for n in at.sidebar.number_input if n.label == "Validation sample"]
    assert sample.value == hardest
    report = next(m for m in texts(at.markdown) if "Loss = -log p(true class)" in m)
    assert report.startswith(f"Sample #{hardest}, the one this run finds hardest")
    before, after = (float(v) for v in re.findall(r"\*\*([0-9.]+)\*\*", report)[1:3])
    assert before == pytest.approx(losses[hardest].item(), abs=2e-4)
    assert before - after > 0.01  # shown to four decimals: a change a reader sees
