"""Inside a network: hook-based capture for every family, unit usage on crafted weights, the
hand-written backpropagation step against autograd, and the weight histograms training records."""

import numpy as np
import pytest
import torch
from torch import nn

from nnapps.inside import (SATURATION, activation_curves, activation_usage, backprop_step, dense_layers, forward_dense,
                           pre_activations, trace, unit_usage)
from nnapps.models import FAMILIES
from nnapps.models.mlp import MLP, MLPConfig
from nnapps.training import TensorData, TrainConfig, WEIGHT_BINS, fit
from model_inputs import family_infos, small_batch

TORCH_FAMILIES = [name for name, f in FAMILIES.items() if f.kind == "torch"]
N_CLASSES = 3


@pytest.mark.parametrize("name, info", family_infos(TORCH_FAMILIES))
def test_trace_captures_every_layer_of_every_family(name, info):
    torch.manual_seed(0)
    model = FAMILIES[name].make({}, info, N_CLASSES).eval()
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
    from nnapps.training import layer_groups, weight_histograms
    model = MLP(MLPConfig(input_dim=3, n_classes=2, n_layers=1, width=2))
    with torch.no_grad():
        model.layers[1].weight.fill_(float("nan"))
        model.layers[1].bias.copy_(torch.tensor([1.0, float("inf")]))
        model.layers[3].weight.fill_(float("nan"))
        model.layers[3].bias.fill_(float("nan"))
    hists = weight_histograms(*layer_groups(model))
    assert sum(hists["layers.1"]["counts"]) == 1 and hists["layers.1"]["lo"] == 1.0  # the one finite bias
    assert hists["layers.3"]["counts"] == []
