"""What a page asks of a modality: the slots of its view, each a function the page calls where
modalities differ, so that no page asks which modality it has."""

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from nnapps.data import Dataset, DatasetSpec
from nnapps.store.runs import Run
from nnapps.training.pipeline import Predictor


@dataclass(frozen=True)
class ModalityView:
    """How one modality's samples are drawn on each page (one instance per modality in VIEWS)."""

    input_word: str  # a visitor's own input, in the Playground's words: "drawing", "sentence"...

    # Data: the input's size in the metrics row (column, dataset), and examples per class from
    # the training split (dataset, how many classes at most).
    data_metric: Callable[[Any, Dataset], None]
    data_examples: Callable[[Dataset, int], None]

    # Compare: how the listed test samples are picked (caption text for n shown); the listed
    # samples with every run's prediction (shown, X_test, run names, spec) -> the sample picked;
    # one sample beside its distribution (item, spec) -> the container for the distribution;
    # what follows the distribution (sample, item, runs, run names, class names); the agreement
    # map's tooltip for some samples (items, spec) -> (column, values).
    rows_caption: Callable[[int], str]
    sample_rows: Callable[[pd.DataFrame, np.ndarray, list[str], DatasetSpec], int]
    sample_view: Callable[[Any, DatasetSpec], Any]
    sample_details: Callable[[int, Any, list[Run], list[str], list[str]], None]
    map_tooltip: Callable[[np.ndarray, DatasetSpec], tuple[str, list[str]]]

    # Playground: the visitor's own input as the models take it, or None while there is none
    # (spec, predictors by name, split seed); what follows the models' answers for it (item,
    # predictors by name, class names).
    own_input: Callable[[DatasetSpec, dict[str, Predictor], int], Any]
    own_input_more: Callable[[Any, dict[str, Predictor], list[str]], None]

    # Inside: the item the forward pass reads (item, spec).
    forward_item: Callable[[Any, DatasetSpec], None]


OWN_FILE_MB = 20  # the largest picture or sound file a visitor gives the Playground


def nothing_more(*_args) -> None:
    """For a slot where this modality draws nothing more."""
