"""Where do two models agree: the test samples in 2-D (PCA of their inputs, scikit-learn), each
marked by which of A and B gets it right."""

import numpy as np

from nnapps.features import make_preprocessor

MAX_POINTS = 2000  # a map of more would be slow to send and too dense to read
OUTCOMES = ("both right", "only A right", "only B right", "both wrong")


def _image_features(X: np.ndarray, sample_rate: int) -> np.ndarray:
    return np.asarray(X, dtype=np.float32).reshape(len(X), -1)


def _text_features(X: np.ndarray, sample_rate: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(max_features=5000).fit_transform(list(X))


def _audio_features(X: np.ndarray, sample_rate: int) -> np.ndarray:
    # The log-mel picture the models see, with the default settings, fitted on these sounds.
    pre = make_preprocessor("audio", {}, sample_rate).fit(X)
    return np.asarray(pre.transform(X), dtype=np.float32).reshape(len(X), -1)


# What a sample's input is as a vector, per modality.
FEATURES = {"image": _image_features, "text": _text_features, "audio": _audio_features}


def sample_ids(n: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """All n test sample indices, or a seeded sorted subset of max_points of them."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def embed_2d(modality: str, X: np.ndarray, sample_rate: int = 0) -> np.ndarray:
    """(N, 2) coordinates of the samples X: the first two principal components of their inputs
    (a truncated SVD of TF-IDF vectors for texts, which are sparse)."""
    if modality not in FEATURES:
        raise ValueError(f"no agreement map for {modality!r} data; valid: {sorted(FEATURES)}")
    features = FEATURES[modality](X, sample_rate)
    if modality == "text":
        from sklearn.decomposition import TruncatedSVD
        return TruncatedSVD(2, random_state=0).fit_transform(features)
    from sklearn.decomposition import PCA
    return PCA(2, random_state=0).fit_transform(features)


def outcomes(y_true: np.ndarray, probas_a: list[np.ndarray], probas_b: list[np.ndarray]) -> np.ndarray:
    """(N,) one of OUTCOMES per sample. With several seeds, a model is right on a sample when
    at least half its seeds are."""
    right_a = np.mean([p.argmax(axis=1) == y_true for p in probas_a], axis=0) >= 0.5
    right_b = np.mean([p.argmax(axis=1) == y_true for p in probas_b], axis=0) >= 0.5
    index = np.where(right_a, np.where(right_b, 0, 1), np.where(right_b, 2, 3))
    return np.asarray(OUTCOMES, dtype=object)[index]
