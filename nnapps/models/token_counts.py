"""Token ids to sparse word counts, the first step of the TF-IDF pipeline (a scikit-learn
transformer, so this module imports scikit-learn and is imported only by tfidf.build)."""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin


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
