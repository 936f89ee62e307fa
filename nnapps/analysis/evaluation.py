"""Evaluation on the test split: probabilities, metrics, confusion matrices, probability tables."""

from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn import metrics as skm
from torch import nn

from nnapps.training.loop import EVAL_BATCH_SIZE, as_input

if TYPE_CHECKING:  # pandas is imported where a table is made: a training never needs it
    import pandas as pd


def softmax_proba(model: nn.Module, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """(N, K) class probabilities from a logits model; the one place softmax is applied."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            xb = as_input(X[start:start + batch_size]).to(device)
            out.append(torch.softmax(model(xb), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict:
    """Accuracy, macro-F1, log loss, confusion matrix and per-class precision and recall.

    Columns of proba follow class indices 0..K-1, so every metric is told the full label set
    (a class missing from a small test split still gets its row and column).
    """
    n_classes = proba.shape[1]
    labels = np.arange(n_classes)
    y_pred = proba.argmax(axis=1)
    precision, recall, _, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "log_loss": float(skm.log_loss(y_true, np.clip(proba, 1e-7, 1.0), labels=labels)),
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "support": support.tolist(),
    }


def probability_table(y_true: np.ndarray, probas: dict[str, np.ndarray],
                      class_names: list[str]) -> "pd.DataFrame":
    """One row per test sample: true label and, per run label, its prediction and probability.

    Columns: index, true, then for each run L: "L pred", "L p" (its probability for its own
    prediction), "L p(true)" and "L ok"; plus "agree" (all runs predict the same) and
    "n_right".
    """
    import pandas as pd

    df = pd.DataFrame({"index": np.arange(len(y_true)),
                       "true": [class_names[i] for i in y_true]})
    preds = []
    for label, proba in probas.items():
        pred = proba.argmax(axis=1)
        preds.append(pred)
        df[f"{label} pred"] = [class_names[i] for i in pred]
        df[f"{label} p"] = proba.max(axis=1)
        df[f"{label} p(true)"] = proba[np.arange(len(y_true)), y_true]
        df[f"{label} ok"] = pred == y_true
    stacked = np.stack(preds) if preds else np.zeros((0, len(y_true)), dtype=int)
    df["agree"] = (stacked == stacked[:1]).all(axis=0) if preds else True
    df["n_right"] = (stacked == y_true[None, :]).sum(axis=0)
    return df


FILTERS = ("all", "models disagree", "all wrong", "A right, B wrong")


def filter_rows(table: "pd.DataFrame", how: str, run_a: str | None = None,
                run_b: str | None = None) -> "pd.DataFrame":
    """Rows of a probability_table matching one of FILTERS."""
    if how == "all":
        return table
    if how == "models disagree":
        return table[~table["agree"]]
    if how == "all wrong":
        return table[table["n_right"] == 0]
    if how == "A right, B wrong":
        if run_a is None or run_b is None:
            raise ValueError("'A right, B wrong' needs two runs, A and B")
        return table[table[f"{run_a} ok"] & ~table[f"{run_b} ok"]]
    raise ValueError(f"unknown filter {how!r}; valid: {list(FILTERS)}")


def shown_rows(shown: "pd.DataFrame", run_names: list[str]) -> "pd.DataFrame":
    """Rows of a (filtered) probability_table as the sample table shows them, on a fresh index.

    Columns: "#" (the test sample's index), "true", then per run L: "L" ("✓ " or "✗ " and its
    prediction), "L p" (its probability for its prediction) and "L ok".
    """
    import pandas as pd

    # Every column goes through .to_numpy(): a filtered table keeps its old index, and pandas
    # would align a Series from it with the fresh one, giving rows other samples' values.
    rows = pd.DataFrame({"#": shown["index"].to_numpy(), "true": shown["true"].to_numpy()})
    for name in run_names:
        ok = shown[f"{name} ok"].to_numpy()
        rows[name] = np.where(ok, "✓ ", "✗ ") + shown[f"{name} pred"].to_numpy().astype(str)
        rows[f"{name} p"] = shown[f"{name} p"].to_numpy()
        rows[f"{name} ok"] = ok
    return rows
