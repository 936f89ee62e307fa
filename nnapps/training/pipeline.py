"""From a RunConfig to a stored Run: load data, fit the preprocessor, train, evaluate, store."""

import time
import warnings
from typing import Any, Callable

import numpy as np
import torch
from sklearn import metrics as skm
from sklearn.exceptions import ConvergenceWarning

from nnapps import limits
from nnapps.data import Dataset, load_dataset
from nnapps.data.dataset import ProgressFn
from nnapps.analysis.epochs import SnapshotRecorder
from nnapps.analysis.evaluation import classification_metrics, softmax_proba
from nnapps.features import make_preprocessor, preprocessor_from_state
from nnapps.models import InputInfo, get_family
from nnapps.models.family import seeded_build
from nnapps.store.runs import EVERYONE, Run, RunConfig, RunStore
from nnapps.training.loop import EpochStats, History, TensorData, TrainConfig, fit


def build_model(config: RunConfig, inputs: InputInfo, n_classes: int) -> Any:
    """The untrained model for config, initialised from its seed."""
    family = get_family(config.family)
    return seeded_build(config.train.get("seed", 0), lambda: family.make(config.hparams, inputs, n_classes))


def load_model(run: Run, store: RunStore) -> Any:
    """A stored run's trained model (nn.Module in eval mode, or a fitted estimator)."""
    model = build_model(run.config, run.input_info, len(run.class_names))
    return get_family(run.config.family).import_weights(model, store.load_weights(run.run_id))


def load_preprocessor(run: Run):
    """The fitted preprocessor a run was trained with: a user's input goes through it too."""
    return preprocessor_from_state(run.preprocessor)


def predict_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, n_classes) probabilities for preprocessed X from either kind of model."""
    if isinstance(model, torch.nn.Module):
        return softmax_proba(model, X)
    proba = np.zeros((len(X), n_classes), dtype=np.float32)
    # An estimator's columns follow the classes it saw; put them under the dataset's classes.
    proba[:, model.classes_] = model.predict_proba(X.reshape(len(X), -1))
    return proba


def _train_torch(model, data: TensorData, config: RunConfig, on_epoch, should_stop, threads) -> History:
    train_config = TrainConfig.from_dict(config.train)
    return fit(model, data, train_config, on_epoch=on_epoch, should_stop=should_stop, threads=threads)


def _train_sklearn(model, data: TensorData, config: RunConfig, on_epoch, should_stop, threads) -> History:
    t0 = time.perf_counter()
    X = data.X_train.numpy().reshape(len(data.X_train), -1)
    # Every random_state in the estimator (or in each step of a pipeline) takes the run's seed.
    model.set_params(**{k: config.train["seed"] for k in model.get_params() if k.endswith("random_state")})
    with warnings.catch_warnings():
        # Hitting max_iter is a choice the user made in the schema, not an error to print.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, data.y_train.numpy())
    seconds = time.perf_counter() - t0
    n_classes = int(max(data.y_train.max(), data.y_val.max())) + 1
    scores = []
    for X_split, y_split in ((data.X_train, data.y_train), (data.X_val, data.y_val)):
        proba = predict_proba(model, X_split.numpy(), n_classes)
        y_np = y_split.numpy()
        scores += [float(skm.log_loss(y_np, np.clip(proba, 1e-7, 1), labels=np.arange(n_classes))),
                   float((proba.argmax(1) == y_np).mean())]
    # A solver has no epochs: its History is one entry, so curves and tables treat it alike.
    stats = EpochStats(1, scores[0], scores[1], scores[2], scores[3], seconds)
    if on_epoch is not None:
        on_epoch(stats)
    return History(epochs=[stats], best_epoch=1, device="cpu")


_TRAINERS: dict[str, Callable] = {"torch": _train_torch, "sklearn": _train_sklearn}


def train_run(config: RunConfig, store: RunStore, dataset: Dataset | None = None,
              on_epoch: Callable[[EpochStats], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              progress: ProgressFn | None = None, owner: str = EVERYONE,
              threads: int | None = None) -> Run:
    """Train config (or return its stored complete run at once) and store the result as
    owner's (a visitor's, or everyone's).

    dataset may be passed when the caller has it loaded already (several runs in a row); it
    must be config.dataset split with config.split_seed. threads: see training.fit.
    """
    stored = store.get(config.run_id)
    if stored is not None and stored.status == "complete":
        return stored
    run, weights = fit_run(config, dataset, on_epoch, should_stop, progress, threads)
    store.put(run, weights, owner)
    return run


def fit_run(config: RunConfig, dataset: Dataset | None = None,
            on_epoch: Callable[[EpochStats], None] | None = None,
            should_stop: Callable[[], bool] | None = None,
            progress: ProgressFn | None = None,
            threads: int | None = None) -> tuple[Run, dict[str, torch.Tensor]]:
    """Train config into a Run and its weights without storing them: what a worker does, so
    that only the process owning the store writes it."""
    limits.check(limits.EPOCHS, config.train.get("epochs", 0))
    if dataset is None:
        dataset = load_dataset(config.dataset, config.split_seed, progress)
    if (dataset.name, dataset.seed) != (config.dataset, config.split_seed):
        raise ValueError(f"dataset {dataset.name!r} seed {dataset.seed} does not match the config's "
                         f"{config.dataset!r} seed {config.split_seed}")
    family = get_family(config.family)
    modality = dataset.spec.modality
    if modality not in family.modalities:
        raise ValueError(f"model {family.name!r} takes {family.modalities} data, not "
                         f"{modality!r} ({dataset.name})")
    pre = make_preprocessor(modality, config.features, dataset.spec.sample_rate).fit(dataset.X_train)
    data = TensorData.from_numpy(pre.transform(dataset.X_train), dataset.y_train,
                                 pre.transform(dataset.X_val), dataset.y_val)
    inputs = pre.input_info()
    model = build_model(config, inputs, dataset.n_classes)
    if isinstance(model, torch.nn.Module):  # scikit-learn's models are sized by the data alone
        limits.check(limits.PARAMS, sum(p.numel() for p in model.parameters()))
    X_test = pre.transform(dataset.X_test)
    # A network's test probabilities at up to ~30 epochs, for Compare's epoch scrubber.
    recorder = (SnapshotRecorder(config.train["epochs"], lambda: predict_proba(model, X_test, dataset.n_classes),
                                 then=on_epoch) if isinstance(model, torch.nn.Module) else None)
    history = _TRAINERS[family.kind](model, data, config, recorder or on_epoch, should_stop, threads)

    t0 = time.perf_counter()
    proba = predict_proba(model, X_test, dataset.n_classes)
    infer_seconds = time.perf_counter() - t0
    metrics = classification_metrics(dataset.y_test, proba)
    weights = family.export_weights(model)
    metrics.update(
        params=_count_params(model, weights),
        train_seconds=history.train_seconds,
        infer_ms_per_sample=1000 * infer_seconds / max(len(X_test), 1),
        epochs_run=len(history.epochs),
    )
    run = Run(config=config, status="stopped" if history.stopped_by_user else "complete",
              history=history, metrics=metrics, class_names=dataset.class_names,
              input_info=inputs, preprocessor=pre.to_state(),
              test_proba=proba, y_test=dataset.y_test, snapshots=recorder.result() if recorder else None)
    return run, weights


def _count_params(model: Any, weights: dict[str, torch.Tensor]) -> int:
    """Learned numbers: a module's parameters (not its buffers), or an estimator's exported
    float arrays."""
    if isinstance(model, torch.nn.Module):
        return int(sum(p.numel() for p in model.parameters()))
    return int(sum(t.numel() for t in weights.values() if t.is_floating_point()))


class Predictor:
    """A stored run's preprocessor and model together: raw items in, probabilities out."""

    def __init__(self, run: Run, store: RunStore):
        self.run_id = run.run_id
        self.n_classes = len(run.class_names)
        self.preprocessor = load_preprocessor(run)
        self.model = load_model(run, store)

    def __call__(self, items) -> np.ndarray:
        return predict_proba(self.model, self.preprocessor.transform(items), self.n_classes)
