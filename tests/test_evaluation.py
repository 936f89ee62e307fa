"""Evaluation: metrics checked against scikit-learn, probability tables and their filters."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import metrics as skm
from torch import nn

from nnapps.analysis.evaluation import FILTERS, classification_metrics, filter_rows, probability_table, softmax_proba

K = 5


def random_proba(n, k=K, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=["all-classes", "class-3-missing"])
def case(request):
    rng = np.random.default_rng(1)
    y = rng.integers(0, K, 60)
    if request.param == "class-3-missing":
        y[y == 3] = 1  # class 3 never true; it may still be predicted
    proba = random_proba(60)
    # Make a few predictions right so the metrics are not all near chance.
    right = rng.random(60) < 0.5
    proba[right] = np.eye(K, dtype=np.float32)[y[right]] * 0.7 + 0.3 / K
    return y, proba


def test_metrics_match_sklearn(case):
    y, proba = case
    m = classification_metrics(y, proba)
    labels = np.arange(K)
    pred = proba.argmax(1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m["accuracy"] == pytest.approx((pred == y).mean(), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(
        skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=labels), rel=1e-6)
    # And by hand: mean of -log p(true class).
    assert m["log_loss"] == pytest.approx(-np.log(proba[np.arange(len(y)), y].astype(np.float64)).mean(),
                                          rel=1e-5)
    assert m["confusion"] == skm.confusion_matrix(y, pred, labels=labels).tolist()
    precision, recall, _, support = skm.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(m["precision"], precision, atol=1e-12)
    np.testing.assert_allclose(m["recall"], recall, atol=1e-12)
    assert m["support"] == np.bincount(y, minlength=K).tolist()


def test_missing_class_keeps_its_row_and_column():
    y = np.array([0, 0, 1, 1, 2])
    proba = np.zeros((5, 4), dtype=np.float32)
    proba[np.arange(5), [0, 3, 1, 1, 2]] = 1.0  # class 3 predicted once, never true
    m = classification_metrics(y, proba)
    assert m["confusion"] == [[1, 0, 0, 1], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert m["support"] == [2, 2, 1, 0]
    assert m["precision"] == [1.0, 1.0, 1.0, 0.0] and m["recall"] == [0.5, 1.0, 1.0, 0.0]
    assert m["accuracy"] == 0.8
    # Macro F1 averages all four classes: (2/3 + 1 + 1 + 0) / 4.
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 1 + 0) / 4)
    # A certain wrong answer (p = 0 for the true class) is clipped to a large finite loss
    # (about -log 1e-7 for that sample), not an infinite one.
    assert np.isfinite(m["log_loss"])
    assert -np.log(2e-7) / 5 < m["log_loss"] < -np.log(1e-7) / 5 + 1e-6
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=np.arange(4)), rel=1e-6)


def test_metrics_are_plain_python_for_json(case):
    import json

    y, proba = case
    json.dumps(classification_metrics(y, proba))


def test_softmax_proba_matches_torch_softmax_across_batches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    X = np.random.default_rng(0).normal(size=(10, 1, 4, 4)).astype(np.float32)
    proba = softmax_proba(model, X, batch_size=3)
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor(X)), 1).numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-6)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    assert not model.training


# ---- probability tables and filters ----------------------------------------------------------

NAMES = ["cat", "dog", "fox"]
Y = np.array([0, 1, 2, 0, 1, 2])


def one_hot_proba(preds, confidence=0.8):
    p = np.full((len(preds), 3), (1 - confidence) / 2, dtype=np.float32)
    p[np.arange(len(preds)), preds] = confidence
    return p


# Row by row: A right on 0, 1, 2, 5; B right on 0, 3, 5; C right on 0, 5.
PRED_A = [0, 1, 2, 1, 0, 2]
PRED_B = [0, 2, 1, 0, 0, 2]
PRED_C = [0, 2, 0, 1, 2, 2]


@pytest.fixture
def table():
    probas = {"A": one_hot_proba(PRED_A, 0.8), "B": one_hot_proba(PRED_B, 0.6),
              "C": one_hot_proba(PRED_C, 0.5)}
    return probability_table(Y, probas, NAMES)


def test_probability_table_columns_and_values(table):
    expected_columns = ["index", "true"]
    for run in "ABC":
        expected_columns += [f"{run} pred", f"{run} p", f"{run} p(true)", f"{run} ok"]
    assert list(table.columns) == expected_columns + ["agree", "n_right"]
    assert table["index"].tolist() == list(range(6))
    assert table["true"].tolist() == ["cat", "dog", "fox", "cat", "dog", "fox"]
    assert table["A pred"].tolist() == [NAMES[i] for i in PRED_A]
    np.testing.assert_allclose(table["B p"], 0.6)
    np.testing.assert_allclose(table["A p(true)"], [0.8, 0.8, 0.8, 0.1, 0.1, 0.8], rtol=1e-6)
    assert table["A ok"].tolist() == [True, True, True, False, False, True]
    assert table["agree"].tolist() == [True, False, False, False, False, True]
    assert table["n_right"].tolist() == [3, 1, 1, 1, 0, 3]


def test_probability_table_single_run_always_agrees():
    t = probability_table(Y, {"only": one_hot_proba(PRED_A)}, NAMES)
    assert t["agree"].all()
    assert t["n_right"].tolist() == [1, 1, 1, 0, 0, 1]


@pytest.mark.parametrize("how, kwargs, rows", [
    ("all", {}, [0, 1, 2, 3, 4, 5]),
    ("models disagree", {}, [1, 2, 3, 4]),
    ("all wrong", {}, [4]),
    ("A right, B wrong", {"run_a": "A", "run_b": "B"}, [1, 2]),
    ("A right, B wrong", {"run_a": "B", "run_b": "A"}, [3]),
    ("A right, B wrong", {"run_a": "C", "run_b": "B"}, []),
])
def test_filter_rows(table, how, kwargs, rows):
    out = filter_rows(table, how, **kwargs)
    assert isinstance(out, pd.DataFrame)
    assert out["index"].tolist() == rows


def test_every_filter_is_covered():
    covered = {"all", "models disagree", "all wrong", "A right, B wrong"}
    assert set(FILTERS) == covered


def test_a_right_b_wrong_needs_both_runs(table):
    with pytest.raises(ValueError, match="needs two runs"):
        filter_rows(table, "A right, B wrong", run_a="A")


def test_unknown_filter_lists_the_valid_ones(table):
    with pytest.raises(ValueError) as err:
        filter_rows(table, "some wrong")
    assert "'some wrong'" in str(err.value) and str(list(FILTERS)) in str(err.value)
