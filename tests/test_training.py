"""The training loop on digits: learning, determinism, callbacks, stopping, early stopping."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from nnapps.models.layers import SeededDropout
from nnapps.models import InputInfo
from nnapps.training.pipeline import build_model
from nnapps.store.runs import RunConfig
from nnapps.training.loop import (History, TrainConfig, evaluate_loss, fit, layer_groups, macs_per_sample,
                                  memory_format_for, resolve_device, threads_for)


def make_model(family="mlp", hparams=None, seed=0, input_shape=(1, 8, 8), n_classes=10):
    return build_model(RunConfig.make("digits", family, hparams, {"seed": seed}), InputInfo(input_shape), n_classes)


def train(data, family="mlp", hparams=None, on_epoch=None, should_stop=None, **train):
    """(model, history) for a fresh seeded model trained on data with these training options."""
    config = dataclasses.replace(TrainConfig.from_dict(train), device="cpu")
    model = make_model(family, hparams, seed=config.seed)
    history = fit(model, data, config, on_epoch=on_epoch, should_stop=should_stop)
    return model, history


def losses(history: History) -> list[tuple]:
    return [(e.train_loss, e.train_acc, e.val_loss, e.val_acc) for e in history.epochs]


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def linear_names(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]


@pytest.fixture(scope="module")
def default_run(digits_tensors):
    """The default MLP trained for 10 epochs, with every EpochStats the callback saw."""
    seen = []
    model, history = train(digits_tensors, epochs=10, on_epoch=seen.append)
    return model, history, seen


def test_loss_falls_and_validation_accuracy_is_high(default_run):
    _, history, _ = default_run
    assert len(history.epochs) == 10 and not history.stopped_early and not history.stopped_by_user
    first, last = history.epochs[0], history.epochs[-1]
    assert last.train_loss < 0.5 * first.train_loss
    assert last.val_loss < first.val_loss
    assert last.val_acc > 0.9
    assert history.device == "cpu" and history.train_seconds > 0
    for e in history.epochs:
        assert 0 <= e.train_acc <= 1 and 0 <= e.val_acc <= 1 and e.seconds > 0


def test_reported_numbers_match_an_independent_evaluation(default_run, digits_tensors):
    """The last epoch's val numbers are the returned model's (patience 5 restored the best)."""
    model, history, _ = default_run
    best = history.epochs[history.best_epoch - 1]
    assert best.val_loss == min(e.val_loss for e in history.epochs)
    with torch.no_grad():
        logits = model.eval()(digits_tensors.X_val)
    reference = nn.functional.cross_entropy(logits, digits_tensors.y_val).item()
    assert math.isclose(best.val_loss, reference, rel_tol=1e-5)
    accuracy = (logits.argmax(1) == digits_tensors.y_val).sum().item() / len(digits_tensors.y_val)
    assert math.isclose(best.val_acc, accuracy, abs_tol=1e-12)


def test_on_epoch_called_once_per_epoch_with_layer_norms(default_run):
    model, history, seen = default_run
    assert [s.epoch for s in seen] == list(range(1, 11))
    assert seen == history.epochs
    names = linear_names(model)
    assert names == ["layers.1", "layers.3", "layers.5"]
    for stats in seen:
        assert list(stats.grad_norms) == names and list(stats.weight_norms) == names
        assert all(v > 0 and math.isfinite(v) for v in stats.grad_norms.values())
        assert all(v > 0 and math.isfinite(v) for v in stats.weight_norms.values())


def test_layer_norms_match_a_reference(digits_tensors):
    """One full batch per epoch, patience 0: norms are those of the gradient and weights by hand."""
    n = len(digits_tensors.y_train)
    reference = make_model(seed=3)
    loss = nn.functional.cross_entropy(reference(digits_tensors.X_train), digits_tensors.y_train)
    loss.backward()
    seen = []
    model, history = train(digits_tensors, seed=3, epochs=2, batch_size=n, patience=0,
                           on_epoch=seen.append)
    for name in linear_names(model):
        layer = reference.get_submodule(name)
        grad = math.sqrt(layer.weight.grad.norm() ** 2 + layer.bias.grad.norm() ** 2)
        assert math.isclose(seen[0].grad_norms[name], grad, rel_tol=1e-4)
        trained = model.get_submodule(name).requires_grad_(False)
        weight = math.sqrt(trained.weight.norm() ** 2 + trained.bias.norm() ** 2)
        assert math.isclose(seen[-1].weight_norms[name], weight, rel_tol=1e-5)
    assert math.isclose(seen[0].train_loss, loss.item(), rel_tol=1e-5)


def test_layer_groups_cover_every_parameter():
    model = make_model("cnn")
    names, params, owner = layer_groups(model)
    assert names == ["features.0", "features.3", "classifier.1"]
    assert len(params) == len(list(model.parameters())) == len(owner)
    assert owner.tolist() == [0, 0, 1, 1, 2, 2]


def test_same_seed_same_run_other_seed_other_run(digits_tensors):
    model_a, history_a = train(digits_tensors, epochs=3, seed=11)
    model_b, history_b = train(digits_tensors, epochs=3, seed=11)
    assert losses(history_a) == losses(history_b)
    assert same_weights(model_a, model_b)
    model_c, history_c = train(digits_tensors, epochs=3, seed=12)
    assert losses(history_c) != losses(history_a)
    assert not same_weights(model_a, model_c)


def test_dropout_run_is_deterministic_for_a_seed(digits_tensors):
    hp = {"dropout": 0.3}
    model_a, history_a = train(digits_tensors, hparams=hp, epochs=3, seed=5)
    model_b, history_b = train(digits_tensors, hparams=hp, epochs=3, seed=5)
    assert losses(history_a) == losses(history_b) and same_weights(model_a, model_b)
    _, history_plain = train(digits_tensors, epochs=3, seed=5)
    assert losses(history_plain) != losses(history_a)  # dropout really was active
    # The global generator does not decide the masks: drawing from it between runs changes nothing.
    torch.rand(1000)
    model_c, history_c = train(digits_tensors, hparams=hp, epochs=3, seed=5)
    assert losses(history_c) == losses(history_a) and same_weights(model_c, model_a)
    assert all(m.generator is None for m in model_a.modules() if isinstance(m, SeededDropout))


def test_cnn_trains_deterministically(digits_tensors):
    hp = {"channels": 4}
    model_a, history_a = train(digits_tensors, family="cnn", hparams=hp, epochs=2, seed=1)
    model_b, history_b = train(digits_tensors, family="cnn", hparams=hp, epochs=2, seed=1)
    assert losses(history_a) == losses(history_b) and same_weights(model_a, model_b)
    assert history_a.epochs[-1].train_loss < history_a.epochs[0].train_loss
    assert set(history_a.epochs[0].grad_norms) == {"features.0", "features.3", "classifier.1"}


def test_a_cnn_trains_channels_last_and_comes_back_in_the_usual_layout(digits_tensors):
    cnn, mlp = make_model("cnn", {"channels": 4}), make_model("mlp")
    X = digits_tensors.X_train
    assert memory_format_for(cnn, X) == torch.channels_last
    assert memory_format_for(mlp, X) == torch.contiguous_format
    assert memory_format_for(cnn, X.flatten(1)) == torch.contiguous_format  # not (N, C, H, W)
    model, _ = train(digits_tensors, family="cnn", hparams={"channels": 4}, epochs=1)
    # Stored weights and the Inside page read tensors in the usual layout.
    assert all(p.is_contiguous() for p in model.parameters())


class StopAfter:
    """should_stop that says stop on its (n_steps + 1)-th call, so n_steps steps are taken."""

    def __init__(self, n_steps):
        self.n_steps, self.calls = n_steps, 0

    def __call__(self):
        self.calls += 1
        return self.calls > self.n_steps


def test_should_stop_ends_mid_epoch_and_keeps_what_was_learned(digits_tensors):
    initial = make_model(seed=0)
    stop = StopAfter(25)  # 20 steps of 64 make one epoch of 1,257 items: stop 5 steps into the second
    seen = []
    model, history = train(digits_tensors, epochs=10, batch_size=64, should_stop=stop,
                           on_epoch=seen.append)
    assert stop.calls == 26
    assert history.stopped_by_user and not history.stopped_early
    assert len(history.epochs) == 2 and len(seen) == 2
    assert not same_weights(model, initial)
    # The partial epoch reports on the 5 * 64 items it saw, and the model is the one after step 25,
    # not the best epoch's (a stop keeps what was learned).
    model_full, _ = train(digits_tensors, epochs=1, batch_size=64, patience=0)
    assert not same_weights(model, model_full)
    val_loss, _ = evaluate_loss(model, digits_tensors.X_val, digits_tensors.y_val)
    assert math.isclose(val_loss, history.epochs[-1].val_loss, rel_tol=1e-6)


def test_should_stop_before_the_first_step_leaves_the_model_untouched(digits_tensors):
    initial = make_model(seed=0)
    model, history = train(digits_tensors, epochs=3, should_stop=lambda: True)
    assert history.stopped_by_user and history.epochs == []
    assert same_weights(model, initial)


def test_early_stopping_restores_the_best_weights(digits_tensors):
    # A large step size makes validation loss bounce; with patience 1 the first worse epoch ends it.
    model, history = train(digits_tensors, epochs=50, lr=0.05, patience=1)
    assert history.stopped_early and not history.stopped_by_user
    assert len(history.epochs) < 50
    val_losses = [e.val_loss for e in history.epochs]
    assert history.best_epoch == val_losses.index(min(val_losses)) + 1
    assert history.best_epoch == len(history.epochs) - 1  # patience 1: stop right after the first miss
    val_loss, _ = evaluate_loss(model, digits_tensors.X_val, digits_tensors.y_val)
    assert abs(val_loss - history.epochs[history.best_epoch - 1].val_loss) < 1e-5
    assert abs(val_loss - history.epochs[-1].val_loss) > 1e-4  # the last epoch's weights were dropped
    note = history.stop_note(patience=1, epochs=50)
    assert note == (f"stopped early at epoch {len(history.epochs)} of 50: validation loss had not improved "
                    f"for 1 epoch (patience), so the weights of epoch {history.best_epoch}, the best, were kept")


def test_stop_note_is_empty_when_training_ran_its_course(digits_tensors):
    _, history = train(digits_tensors, epochs=2, patience=0)
    assert history.stop_note(patience=0, epochs=2) == ""


def test_patience_zero_never_stops_early_and_keeps_the_last_weights(digits_tensors):
    model, history = train(digits_tensors, epochs=6, lr=0.05, patience=0)
    assert len(history.epochs) == 6 and not history.stopped_early
    val_loss, _ = evaluate_loss(model, digits_tensors.X_val, digits_tensors.y_val)
    assert abs(val_loss - history.epochs[-1].val_loss) < 1e-5


@pytest.mark.parametrize("optimizer, extra", [("adamw", {"weight_decay": 0.01}),
                                              ("sgd", {"lr": 0.05, "momentum": 0.9})])
def test_other_optimizers_learn(digits_tensors, optimizer, extra):
    _, history = train(digits_tensors, epochs=4, optimizer=optimizer, **extra)
    assert history.epochs[-1].train_loss < 0.5 * history.epochs[0].train_loss
    assert history.epochs[-1].val_acc > 0.85


def test_sgd_without_momentum_trains(digits_tensors):
    _, history = train(digits_tensors, epochs=2, optimizer="sgd", lr=0.1, momentum=0.0)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


def test_macs_and_thread_policy():
    mlp = make_model("mlp")
    x = torch.zeros(1, 1, 8, 8)
    assert macs_per_sample(mlp, x) == 64 * 128 + 128 * 128 + 128 * 10
    cnn = make_model("cnn", {"channels": 8, "kernel_size": 3}, input_shape=(1, 28, 28))
    # conv1: 8 maps of 28x28, 1 input channel, 3x3; conv2: 16 maps of 14x14, 8 inputs; head 16*7*7.
    expected = 8 * 28 * 28 * 1 * 9 + 16 * 14 * 14 * 8 * 9 + 16 * 7 * 7 * 10
    assert macs_per_sample(cnn, torch.zeros(1, 1, 28, 28)) == expected
    assert threads_for(mlp, x, 64, available=4) == 1
    assert threads_for(cnn, torch.zeros(1, 1, 28, 28), 64, available=4) == 4
    assert not any(m._forward_hooks for m in cnn.modules())  # the counting hooks are removed


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected_auto = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected_auto
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda, got 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_raises():
    with pytest.raises(ValueError, match="no GPU is available"):
        resolve_device("cuda")


def test_evaluate_loss_matches_torch_and_restores_mode(digits_tensors):
    model = make_model(seed=2)
    model.train()
    loss, acc = evaluate_loss(model, digits_tensors.X_val, digits_tensors.y_val, batch_size=7)
    assert model.training
    with torch.no_grad():
        logits = model.eval()(digits_tensors.X_val)
    assert math.isclose(loss, nn.functional.cross_entropy(logits, digits_tensors.y_val).item(), rel_tol=1e-5)
    assert acc == (logits.argmax(1) == digits_tensors.y_val).sum().item() / len(digits_tensors.y_val)
    empty = evaluate_loss(model, digits_tensors.X_val[:0], digits_tensors.y_val[:0])
    assert all(math.isnan(v) for v in empty)


def test_history_round_trips_through_a_dict(default_run):
    _, history, _ = default_run
    again = History.from_dict(history.to_dict())
    assert again == history


def test_train_config_validates():
    assert TrainConfig.from_dict({}) == TrainConfig()
    assert TrainConfig.from_dict({"lr": "0.01", "epochs": "3"}).lr == 0.01
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="batch_size must be between"):
        TrainConfig.from_dict({"batch_size": 0})
    # Where a run trains is not a hyperparameter: it is no part of the schema, only of TrainConfig.
    assert TrainConfig.from_dict({}).device == "auto"
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        TrainConfig.from_dict({"device": "cpu"})
