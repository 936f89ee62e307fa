"""A classifier's part of a bundle import: its config, fitted preprocessor, metrics, and its test
probabilities recomputed from the dataset here.

nnapps.store.bundles looks this module up by the family's task; nnapps.gpt.bundle has the same
functions for a language model.
"""

import numpy as np

from nnapps.models import InputInfo, ModelFamily
from nnapps.store.bundle_checks import BundleError, not_downloaded, number
from nnapps.store.runs import Run, RunConfig, check_split_seed

# Numbers a run's metrics hold besides those recomputed here from its probabilities.
NUMBERS = ("params", "train_seconds", "infer_ms_per_sample", "epochs_run")


def clean_config(raw: dict, family: ModelFamily) -> RunConfig:
    """The config raw describes, validated as training validates one."""
    return RunConfig.make(raw["dataset"], family.name, raw["hparams"], raw["train"],
                          check_split_seed(raw["split_seed"]), raw["features"],
                          modality=_modality(raw["dataset"], family))


def _modality(dataset, family: ModelFamily) -> str:
    """The modality of a dataset a bundle names: a name, never a path. A dataset this copy does
    not have may be an upload on the copy the bundle comes from (user-<hash>)."""
    from nnapps.data import get_spec
    from nnapps.data.uploads import is_upload_name
    try:
        return get_spec(dataset).modality
    except ValueError:
        if not is_upload_name(dataset):
            shown = dataset[:80] if isinstance(dataset, str) else dataset
            raise BundleError(f"config.json names the dataset {shown!r}, which is neither a dataset of "
                              "this copy nor an upload's name (user-<12 hex digits>)") from None
    return family.modalities[0]


def check_inputs(preprocessor: dict, input_info: InputInfo) -> None:
    """The fitted preprocessor can be rebuilt and makes the inputs the run says."""
    from nnapps.features import preprocessor_from_state
    try:
        rebuilt = preprocessor_from_state(preprocessor)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"run.json: the fitted preprocessor cannot be rebuilt: {exc!r}") from None
    if rebuilt.input_info() != input_info:
        raise BundleError("run.json: the input shape does not match the fitted preprocessor's")


def metrics(metrics: dict, y: np.ndarray, proba: np.ndarray) -> dict:
    """The metrics a page reads: the ones the probabilities give, recomputed here; the rest
    (size, time) checked to be numbers."""
    from nnapps.analysis.evaluation import classification_metrics
    if not len(y):
        raise BundleError("test_probabilities.csv holds no test items")
    # float32, as training computes them: the same numbers, and sklearn's same tolerance.
    return {**{k: number(metrics, k) for k in NUMBERS}, **classification_metrics(y, proba.astype(np.float32))}


def data_here(config: RunConfig, class_names: list[str], input_info: InputInfo, preprocessor: dict,
              y: np.ndarray):
    """The run's dataset on this copy, checked to name its classes and test labels as the run
    does; or why this copy cannot check the run against it (another copy's upload)."""
    from nnapps.data import DatasetUnavailable, get_spec, load_dataset
    try:
        spec = get_spec(config.dataset)
    except ValueError:
        return f"its dataset ({config.dataset}) is not on this copy"
    if not spec.is_cached():
        raise BundleError(not_downloaded(spec.title, "the Data page"))
    try:
        dataset = load_dataset(config.dataset, config.split_seed)
    except DatasetUnavailable as exc:
        return f"its dataset cannot be loaded here: {exc}"
    if list(dataset.class_names) != class_names:
        raise BundleError(f"the run's classes {class_names[:5]}... are not {config.dataset}'s here")
    if len(y) != len(dataset.y_test) or not np.array_equal(y, dataset.y_test):
        raise BundleError(f"the run's test labels are not {config.dataset}'s test split here")
    return dataset


def recompute_proba(run: Run, model, dataset) -> np.ndarray:
    """(N, classes) probabilities of the dataset's test items through the run's preprocessor and model."""
    from nnapps.features import preprocessor_from_state
    from nnapps.training.pipeline import predict_proba
    X = preprocessor_from_state(run.preprocessor).transform(dataset.X_test)
    return predict_proba(model, X, len(run.class_names))
