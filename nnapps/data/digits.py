"""scikit-learn's bundled 8x8 handwritten digits (1,797 images)."""

import numpy as np

from nnapps.data.dataset import DatasetSpec, RawData


def load(seed: int = 0, progress=None) -> RawData:
    from sklearn.datasets import load_digits  # imported here: naming datasets needs no scikit-learn

    bunch = load_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8)
    return RawData(X=X, y=bunch.target.astype(np.int64), class_names=[str(d) for d in range(10)])


SPEC = DatasetSpec(
    name="digits",
    title="Digits (8x8)",
    modality="image",
    origin="bundled",
    licence="CC BY 4.0 (UCI ML hand-written digits, bundled with scikit-learn)",
    description=("1,797 handwritten digits from 43 writers, downsampled to 8x8 pixels with 17 grey "
                 "levels. Ships with scikit-learn, so it works offline."),
    load=load,
    source_url="https://archive.ics.uci.edu/dataset/80",
)
