"""Compare's sample table shows every sample's own predictions, under every filter (issue 15)."""

import numpy as np
import pytest

from nnapps.analysis.evaluation import FILTERS, filter_rows, probability_table, shown_rows
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore

from page_helpers import assert_ok
from test_pages import open_dataset

# Page tests here get their own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")

# Two quick runs per modality that disagree on some test samples.
RUNS = {"digits": (("logreg", {}), ("mlp", {})),
        "reviews": (("tfidf", {}), ("boe", {})),
        "spoken-digits": (("pooled-logreg", {"n_mels": 16}), ("pooled-mlp", {"n_mels": 16}))}


def train_pair(dataset: str) -> list:
    store = RunStore()
    return [train_run(RunConfig.make(dataset, family, train={"epochs": 1}, features=features), store)
            for family, features in RUNS[dataset]]


def assert_rows_are_the_stored_truth(rows, runs, names):
    """Each row's prediction and probability are the run's stored ones for that sample id."""
    ids = rows["#"].to_numpy()
    for run, name in zip(runs, names):
        proba = run.test_proba[ids]
        pred = proba.argmax(axis=1)
        marks = np.where(pred == run.y_test[ids], "✓ ", "✗ ")
        assert rows[name].tolist() == [m + run.class_names[p] for m, p in zip(marks, pred)]
        np.testing.assert_allclose(rows[f"{name} p"].to_numpy(dtype=float), proba.max(axis=1), rtol=1e-6)
    assert rows["true"].tolist() == [runs[0].class_names[y] for y in runs[0].y_test[ids]]


def filter_choices(names):
    return [(how, a, b) for how in FILTERS
            for a, b in ([(names[0], names[1]), (names[1], names[0])] if how == "A right, B wrong" else [(None, None)])]


def each_filter(app, names):
    """Sets the Compare page's sample filter to each choice in turn, yielding after each."""
    for how, a, b in filter_choices(names):
        app.segmented_control(key="prob_filter").set_value(how).run()
        if a is not None:
            app.selectbox(key="filter_a").set_value(a).run()
            app.selectbox(key="filter_b").set_value(b).run()
        assert_ok(app)
        yield how


@pytest.mark.parametrize("dataset", list(RUNS))
def test_shown_rows_match_stored_probabilities_under_every_filter(dataset):
    runs = train_pair(dataset)
    names = [r.label for r in runs]
    table = probability_table(runs[0].y_test, {n: r.test_proba for n, r in zip(names, runs)}, runs[0].class_names)
    sizes = set()
    for how, a, b in filter_choices(names):
        shown = filter_rows(table, how, a, b)
        rows = shown_rows(shown, names)
        assert rows["#"].tolist() == shown["index"].tolist()
        assert_rows_are_the_stored_truth(rows, runs, names)
        sizes.add(len(rows))
    assert len(sizes) > 2  # the filters kept different samples, so the check saw filtered tables


@pytest.mark.parametrize("dataset", ["digits", "reviews"])
def test_compare_table_matches_stored_probabilities_under_every_filter(app, dataset):
    runs = train_pair(dataset)
    names = [r.label for r in runs]
    open_dataset(app, "pages/compare.py", dataset)
    for _ in each_filter(app, names):
        if any(i.value == "No sample matches this filter." for i in app.info):
            continue
        rows = app.dataframe(key="prob_table").value
        assert len(rows) > 0
        assert_rows_are_the_stored_truth(rows, runs, names)


def test_compare_sounds_match_stored_probabilities_under_every_filter(app):
    runs = train_pair("spoken-digits")
    names = [r.label for r in runs]
    open_dataset(app, "pages/compare.py", "spoken-digits")
    for _ in each_filter(app, names):
        ids = [int(b.key.rsplit("_", 1)[1]) for b in app.button if b.key and b.key.startswith("sound_details_")]
        if not ids:
            continue
        shown = [m.value for m in app.markdown if m.value.startswith(("✓ ", "✗ "))]
        expected = [("✓ " if r.test_proba[i].argmax() == r.y_test[i] else "✗ ") +
                    r.class_names[r.test_proba[i].argmax()]
                    for i in ids for r in runs]
        assert shown == expected
