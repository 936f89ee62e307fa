"""Model families: the logits contract, overfitting a small batch, seeding, schemas, dropout.

Tests over every family feed each family its own modality (tests/model_inputs.py): images to
image families, padded token ids to text families.
"""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from nnapps.analysis.evaluation import softmax_proba
from nnapps.models import (CLASSIFIER, CLASSIFIERS, FAMILIES, LANGUAGE_MODEL, TASKS, InputInfo, families_for,
                           get_classifier, get_family)
from nnapps.models.layers import ACTIVATIONS, SeededDropout, make_activation, set_dropout_generator
from nnapps.training.pipeline import build_model, predict_proba
from nnapps.store.runs import RunConfig
from model_inputs import DATASET_FOR, family_infos, fit_until, info_for, modality_of, small_batch

TORCH_FAMILIES = [name for name, f in CLASSIFIERS.items() if f.kind == "torch"]
SKLEARN_FAMILIES = [name for name, f in CLASSIFIERS.items() if f.kind == "sklearn"]
IMAGE_INFO = InputInfo((1, 8, 8))
N_CLASSES = 4
FAMILY_INFOS = family_infos()


def test_registry_has_the_expected_families():
    assert {"logreg", "mlp", "cnn"} <= set(CLASSIFIERS)
    assert {"tfidf", "boe", "textcnn", "gru", "lstm", "transformer"} <= set(CLASSIFIERS)
    assert {"pooled-logreg", "pooled-mlp", "frame-gru"} <= set(CLASSIFIERS)
    assert TORCH_FAMILIES and SKLEARN_FAMILIES
    for name, family in CLASSIFIERS.items():
        assert family.name == name and family.title and family.description
        assert family.kind in ("torch", "sklearn")
        assert family.modalities and set(family.modalities) <= {"image", "text", "audio"}
        assert isinstance(family.summary(family.schema.defaults()), str)


def test_unknown_family_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_family("resnet")
    assert "'resnet'" in str(err.value) and str(sorted(FAMILIES)) in str(err.value)


def test_the_registry_asks_a_familys_task_not_its_name():
    assert set(FAMILIES) - set(CLASSIFIERS) == {"gpt"}
    assert FAMILIES["gpt"].task == LANGUAGE_MODEL and get_family("gpt") is FAMILIES["gpt"]
    assert all(f.task == CLASSIFIER for f in CLASSIFIERS.values())
    # Where a dataset's models are chosen, no language model is offered.
    assert all(f.task == CLASSIFIER for m in ("image", "text", "audio", "corpus") for f in families_for(m))
    assert families_for("corpus") == []
    assert get_classifier("mlp") is CLASSIFIERS["mlp"]
    with pytest.raises(ValueError, match="'gpt' is a language model, not a classifier") as err:
        get_classifier("gpt")
    assert str(sorted(CLASSIFIERS)) in str(err.value)
    with pytest.raises(ValueError, match="'gpt' is a language model, not a classifier"):
        RunConfig.make("digits", "gpt")


def test_a_family_declares_a_known_task():
    with pytest.raises(ValueError, match="task must be one of"):
        dataclasses.replace(CLASSIFIERS["mlp"], task="regressor")
    assert TASKS == (CLASSIFIER, LANGUAGE_MODEL)
    # Only the GPT stores one tensor under two names; the code export reads it from the family.
    assert {n: f.tied_weights for n, f in FAMILIES.items() if f.tied_weights} == {"gpt": ("head.weight",)}


def test_families_for_modality():
    assert {f.name for f in families_for("image")} == {"logreg", "mlp", "cnn"}
    assert {f.name for f in families_for("text")} == {"tfidf", "fasttext", "boe", "textcnn", "gru", "lstm",
                                                      "transformer"}
    assert {f.name for f in families_for("audio")} == {"pooled-logreg", "pooled-mlp", "frame-gru", "cnn"}
    assert CLASSIFIERS["cnn"].modalities == ("image", "audio")
    assert families_for("no-such-modality") == []


@pytest.mark.parametrize("name, info", FAMILY_INFOS)
def test_schema_defaults_build_and_give_probabilities(name, info):
    family = CLASSIFIERS[name]
    model = family.make({}, info, N_CLASSES)
    X, y = small_batch(info, n=12)  # text: padded rows and one empty text
    if family.kind == "torch":
        assert isinstance(model, nn.Module)
        model.eval()
        with torch.no_grad():
            logits = model(X)
        assert logits.shape == (12, N_CLASSES) and torch.isfinite(logits).all()
    else:
        model.fit(X.reshape(12, -1).numpy(), y.numpy())
    proba = predict_proba(model, X.numpy(), N_CLASSES)
    assert proba.shape == (12, N_CLASSES)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba >= 0).all()


@pytest.mark.parametrize("name", TORCH_FAMILIES)
def test_logits_are_not_probabilities(name):
    """forward returns logits; softmax is applied once, in evaluation.softmax_proba."""
    info = info_for(name)
    model = CLASSIFIERS[name].make({}, info, N_CLASSES).eval()
    X, _ = small_batch(info, n=8)
    with torch.no_grad():
        logits = model(X)
    assert not torch.allclose(logits.sum(1), torch.ones(8))
    np.testing.assert_allclose(softmax_proba(model, X.numpy()), torch.softmax(logits, 1).numpy(),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_sklearn_probabilities_follow_dataset_classes(name):
    """A class missing from the training data still gets its (zero) column."""
    info = info_for(name)
    X, _ = small_batch(info, n=12)
    y = np.array([0, 1, 3] * 4)  # class 2 never seen
    model = CLASSIFIERS[name].make({}, info, N_CLASSES).fit(X.reshape(12, -1).numpy(), y)
    proba = predict_proba(model, X.numpy(), N_CLASSES)
    assert proba.shape == (12, N_CLASSES)
    assert (proba[:, 2] == 0).all()
    np.testing.assert_allclose(proba[:, [0, 1, 3]], model.predict_proba(X.reshape(12, -1).numpy()),
                               rtol=1e-6)


@pytest.mark.parametrize("name, info", FAMILY_INFOS)
def test_overfits_a_small_batch(name, info):
    """32 random images (or texts) with arbitrary labels: a working model memorises them.

    No empty text here: every empty text looks alike, so a linear model cannot place one alone.
    """
    family = CLASSIFIERS[name]
    X, y = small_batch(info, empty_rows=0)
    if family.kind == "sklearn":
        model = family.make({"C": 1e4, "max_iter": 5000}, info, N_CLASSES)
        model.fit(X.reshape(len(X), -1).numpy(), y.numpy())
        proba = predict_proba(model, X.numpy(), N_CLASSES)
        loss = -np.log(proba[np.arange(len(y)), y.numpy()]).mean()
        assert loss < 0.05
        return
    torch.manual_seed(0)
    loss, step = fit_until(family.make({}, info, N_CLASSES), X, y, max_steps=300)
    assert loss < 0.05, f"{name} did not overfit 32 samples: loss {loss:.3f} after {step} steps"


@pytest.mark.parametrize("name", TORCH_FAMILIES)
def test_same_seed_same_weights(name):
    def weights(seed):
        config = RunConfig.make(DATASET_FOR[modality_of(name)], name, train={"seed": seed})
        return build_model(config, info_for(name), 10).state_dict()

    a, b, c = weights(7), weights(7), weights(8)
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key])
    assert any(not torch.equal(a[key], c[key]) for key in a if a[key].dtype.is_floating_point)


@pytest.mark.parametrize("name", [n for n in CLASSIFIERS if "activation" in CLASSIFIERS[n].schema.names()])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_builds(name, activation):
    family = CLASSIFIERS[name]
    choices = {p.name: p for p in family.schema}["activation"].choices
    assert activation in choices
    info = info_for(name)
    model = family.make({"activation": activation}, info, N_CLASSES)
    kinds = {type(m) for m in model.modules()}
    assert ACTIVATIONS[activation] in kinds
    assert not (set(ACTIVATIONS.values()) - {ACTIVATIONS[activation]}) & kinds
    X, _ = small_batch(info, n=3)
    assert model(X).shape == (3, N_CLASSES)


def test_unknown_activation():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; valid: \['gelu', 'relu'"):
        make_activation("swish")
    with pytest.raises(ValueError, match="activation must be one of"):
        CLASSIFIERS["mlp"].make({"activation": "swish"}, IMAGE_INFO, 10)


def test_cnn_deep_stack_on_8x8_stops_pooling_at_1x1():
    model = CLASSIFIERS["cnn"].make({"n_blocks": 5}, InputInfo((1, 8, 8)), 10)
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3  # 8 -> 4 -> 2 -> 1, then no more
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 128, 256]
    head = model.classifier[-1]
    assert isinstance(head, nn.Linear) and head.in_features == 256 * 1 * 1
    X, _ = small_batch(IMAGE_INFO, n=2)
    assert model(X).shape == (2, 10)


@pytest.mark.parametrize("pooling, pool_type", [("max", nn.MaxPool2d), ("avg", nn.AvgPool2d), ("none", None)])
@pytest.mark.parametrize("kernel_size", [3, 5, 7])
def test_cnn_pooling_and_kernel_choices(pooling, pool_type, kernel_size):
    model = CLASSIFIERS["cnn"].make({"pooling": pooling, "kernel_size": kernel_size}, InputInfo((3, 12, 12)), 5)
    pools = [m for m in model.features if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
    assert len(pools) == (0 if pool_type is None else 2)
    assert all(isinstance(p, pool_type) for p in pools)
    side = 12 if pool_type is None else 3
    assert model.classifier[-1].in_features == 32 * side * side
    X, _ = small_batch(InputInfo((3, 12, 12)), n=2)
    assert model(X).shape == (2, 5)  # padding keeps the map size for every odd kernel


def test_cnn_needs_images():
    with pytest.raises(ValueError, match=r"cnn needs images or spectrograms shaped \(C, H, W\), "
                                         r"got \(64,\)"):
        CLASSIFIERS["cnn"].make({}, InputInfo((64,)), 10)


def test_mlp_layers_follow_the_schema():
    model = CLASSIFIERS["mlp"].make({"n_layers": 3, "width": 20}, InputInfo((1, 8, 8)), 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(64, 20), (20, 20), (20, 20), (20, 10)]
    linear_only = CLASSIFIERS["mlp"].make({"n_layers": 0}, InputInfo((3, 12, 12)), 10)
    assert [(layer.in_features, layer.out_features) for layer in linear_only.modules()
            if isinstance(layer, nn.Linear)] == [(432, 10)]


@pytest.mark.parametrize("name", TORCH_FAMILIES)
def test_dropout_layers_only_when_asked(name):
    """No dropout by default: image families leave the layers out, text families may keep them
    at p=0, where they pass their input through untouched; asked for, every one has its p."""
    family, info = CLASSIFIERS[name], info_for(name)
    plain = [m for m in family.make({}, info, 10).modules() if isinstance(m, SeededDropout)]
    if modality_of(name) == "image":
        assert plain == []
    assert all(d.p == 0.0 for d in plain)
    with_dropout = family.make({"dropout": 0.3}, info, 10)
    drops = [m for m in with_dropout.modules() if isinstance(m, SeededDropout)]
    assert drops and all(d.p == 0.3 for d in drops)


# ---- SeededDropout --------------------------------------------------------------------------


def test_seeded_dropout_eval_is_identity():
    layer = SeededDropout(0.5).eval()
    x = torch.randn(4, 10)
    assert torch.equal(layer(x), x)


def test_seeded_dropout_same_generator_seed_same_mask():
    x = torch.ones(64, 32)
    layer = SeededDropout(0.4).train()

    def masked(seed):
        set_dropout_generator(layer, torch.Generator().manual_seed(seed))
        return layer(x)

    a, b, c = masked(1), masked(1), masked(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    kept = a != 0
    # Kept units are scaled by 1 / (1 - p) so the expected activation is unchanged.
    torch.testing.assert_close(a[kept], torch.full_like(a[kept], 1 / 0.6))
    assert abs(kept.float().mean().item() - 0.6) < 0.03


def test_seeded_dropout_does_not_touch_the_global_generator():
    layer = SeededDropout(0.5).train()
    set_dropout_generator(layer, torch.Generator().manual_seed(0))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    layer(torch.ones(100))
    assert torch.equal(torch.rand(3), expected)


def test_seeded_dropout_zero_is_identity_in_training():
    x = torch.randn(5, 5)
    assert torch.equal(SeededDropout(0.0).train()(x), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_seeded_dropout_p_out_of_range(p):
    with pytest.raises(ValueError, match=rf"dropout must be in \[0, 1\), got {p}"):
        SeededDropout(p)


def test_set_dropout_generator_reaches_every_layer():
    model = CLASSIFIERS["mlp"].make({"dropout": 0.2, "n_layers": 3}, InputInfo((1, 8, 8)), 10)
    g = torch.Generator()
    set_dropout_generator(model, g)
    drops = [m for m in model.modules() if isinstance(m, SeededDropout)]
    assert len(drops) == 3 and all(d.generator is g for d in drops)
    set_dropout_generator(model, None)
    assert all(d.generator is None for d in drops)
