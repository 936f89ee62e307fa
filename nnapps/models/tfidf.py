"""TF-IDF + logistic regression: scikit-learn's bag-of-words baseline on the tokenizer's ids."""

import torch

from nnapps.schema import Param, Schema
from nnapps.models.family import InputInfo, ModelFamily
from nnapps.models.logreg import export_linear, import_linear

SCHEMA = Schema((
    Param("C", "float", 10.0, "Inverse regularisation strength: smaller means simpler weights",
          1e-4, 1e4, log=True),
    Param("max_iter", "int", 500, "Iterations the solver may take", 10, 5000),
))


def build(hp: dict, inputs: InputInfo, n_classes: int):
    """A scikit-learn Pipeline (scikit-learn imported here, as in logreg.build)."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from nnapps.models.token_counts import TokenCounts
    return Pipeline([("counts", TokenCounts(inputs.vocab_size)), ("tfidf", TfidfTransformer()),
                     ("clf", LogisticRegression(C=hp["C"], max_iter=hp["max_iter"]))])


def export_weights(model) -> dict[str, torch.Tensor]:
    return {"idf": torch.as_tensor(model.named_steps["tfidf"].idf_), **export_linear(model.named_steps["clf"])}


def import_weights(model, weights: dict[str, torch.Tensor]):
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
