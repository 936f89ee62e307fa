"""TF-IDF + logistic regression: scikit-learn's bag-of-words baseline on the tokenizer's ids."""

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ..schema import Param, Schema
from .family import InputInfo, ModelFamily
from .logreg import export_linear, import_linear


class TokenCounts(BaseEstimator, TransformerMixin):
    """(N, T) token ids -> (N, vocab_size) sparse counts; padding (id 0) is not counted."""

    def __init__(self, vocab_size: int = 2):
        self.vocab_size = vocab_size

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = np.asarray(X)
        rows = np.repeat(np.arange(len(X)), X.shape[1])
        ids = X.reshape(-1)
        keep = ids != 0
        data = np.ones(int(keep.sum()), dtype=np.float64)
        return sparse.csr_matrix((data, (rows[keep], ids[keep])), shape=(len(X), self.vocab_size))


SCHEMA = Schema((
    Param("C", "float", 10.0, "Inverse regularisation strength: smaller means simpler weights",
          1e-4, 1e4, log=True),
    Param("max_iter", "int", 500, "Iterations the solver may take", 10, 5000),
))


def build(hp: dict, inputs: InputInfo, n_classes: int) -> Pipeline:
    return Pipeline([("counts", TokenCounts(inputs.vocab_size)), ("tfidf", TfidfTransformer()),
                     ("clf", LogisticRegression(C=hp["C"], max_iter=hp["max_iter"]))])


def export_weights(model: Pipeline) -> dict[str, torch.Tensor]:
    return {"idf": torch.as_tensor(model.named_steps["tfidf"].idf_), **export_linear(model.named_steps["clf"])}


def import_weights(model: Pipeline, weights: dict[str, torch.Tensor]) -> Pipeline:
    tfidf = model.named_steps["tfidf"]
    tfidf.idf_ = weights["idf"].numpy()
    tfidf.n_features_in_ = len(tfidf.idf_)
    import_linear(model.named_steps["clf"], weights)
    return model


FAMILY = ModelFamily(
    name="tfidf", title="TF-IDF + logistic regression",
    description="scikit-learn's classic text baseline: word counts weighted by rarity, one weight per "
                "word and class. It sees which words occur, never their order.",
    modalities=("text",), schema=SCHEMA, kind="sklearn", build=build,
    summary=lambda hp: f"C={hp['C']:g}", export_weights=export_weights, import_weights=import_weights,
)
