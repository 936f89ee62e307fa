"""Image standardisation: per-channel mean and spread learned on the training split."""

from dataclasses import dataclass, field

import numpy as np

from nnapps.models.family import InputInfo


@dataclass
class ImageStandardizer:
    """x -> (x - mean_) / std_ per channel, for images shaped (N, C, H, W) in [0, 1].

    The state is plain numbers (to_state/from_state), saved as JSON with the run, so a user's
    own drawing goes through exactly the steps the test split went through.
    """

    mean_: list[float] = field(default_factory=list)
    std_: list[float] = field(default_factory=list)
    shape_: list[int] = field(default_factory=list)

    def fit(self, X: np.ndarray) -> "ImageStandardizer":
        if X.ndim != 4:
            raise ValueError(f"expected images shaped (N, C, H, W), got {X.shape}")
        self.shape_ = list(X.shape[1:])
        self.mean_ = X.mean(axis=(0, 2, 3)).astype(float).tolist()
        # A constant channel would divide by zero; keep it at its raw spread of 1.
        self.std_ = [s if s > 1e-6 else 1.0 for s in X.std(axis=(0, 2, 3)).astype(float).tolist()]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if not self.mean_:
            raise RuntimeError("ImageStandardizer is not fitted; call fit on the training split first")
        if X.ndim != 4 or X.shape[1] != len(self.mean_):
            raise ValueError(f"expected images shaped (N, {len(self.mean_)}, H, W), got {X.shape}")
        mean = np.asarray(self.mean_, dtype=np.float32)[None, :, None, None]
        std = np.asarray(self.std_, dtype=np.float32)[None, :, None, None]
        return ((X - mean) / std).astype(np.float32)

    def input_info(self):
        if not self.mean_:
            raise RuntimeError("ImageStandardizer is not fitted; call fit on the training split first")
        return InputInfo(shape=tuple(self.shape_))

    def to_state(self) -> dict:
        return {"kind": "image_standardizer", "mean": self.mean_, "std": self.std_, "shape": self.shape_}

    @classmethod
    def from_state(cls, state: dict) -> "ImageStandardizer":
        if state.get("kind") != "image_standardizer":
            raise ValueError(f"not an image standardizer state: kind={state.get('kind')!r}")
        return cls(mean_=list(state["mean"]), std_=list(state["std"]), shape_=list(state["shape"]))
