"""The agreement map: coordinates from scikit-learn's PCA, outcomes by hand, and the page."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from nnapps.analysis.agreement import OUTCOMES, embed_2d, outcomes, sample_ids
from nnapps.ui import compare_view

from test_compare_page import table_ids, train_seeds
from page_helpers import assert_ok, open_page, texts

# Page tests here get their own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")


def test_outcomes_by_hand():
    y = np.array([0, 1, 2, 0])
    eye = np.eye(3)
    a = eye[[0, 1, 0, 1]]   # right, right, wrong, wrong
    b = eye[[0, 0, 2, 1]]   # right, wrong, right, wrong
    assert outcomes(y, [a], [b]).tolist() == list(OUTCOMES)
    # Several seeds: right when at least half of them are.
    assert outcomes(y, [a, eye[[1, 1, 2, 0]]], [b]).tolist() == ["both right", "only A right", "both right",
                                                                "only A right"]


def test_images_are_placed_by_pca_of_their_pixels(digits):
    X = digits.X_test
    xy = embed_2d("image", X)
    expected = PCA(2, random_state=0).fit_transform(X.reshape(len(X), -1).astype(np.float32))
    np.testing.assert_allclose(xy, expected, rtol=1e-4, atol=1e-4)


def test_texts_and_sounds_get_coordinates(reviews, spoken_digits):
    for modality, ds in (("text", reviews), ("audio", spoken_digits)):
        X = ds.X_test[:200]
        xy = embed_2d(modality, X, ds.spec.sample_rate)
        assert xy.shape == (200, 2) and np.isfinite(xy).all() and xy.std(axis=0).min() > 0
    with pytest.raises(ValueError, match="no agreement map"):
        embed_2d("video", X)


def test_a_big_test_split_is_sampled_with_a_seed():
    assert sample_ids(10).tolist() == list(range(10))
    ids = sample_ids(10_000, 2000)
    assert len(ids) == len(set(ids)) == 2000 and ids.tolist() == sorted(ids) and ids.max() < 10_000
    assert sample_ids(10_000, 2000).tolist() == ids.tolist()


def test_the_map_on_the_page_and_a_picked_sample(app):
    runs = train_seeds(seeds=(0,))
    a, b = runs["mlp"][0], runs["logreg"][0]
    open_page(app, "pages/compare.py")
    caption = next(c for c in texts(app.caption) if c.startswith("Each dot is a test sample"))
    who = outcomes(a.y_test, [a.test_proba], [b.test_proba])
    assert all(f"{o}: {int((who == o).sum()):,}" in caption for o in OUTCOMES)
    # A click on a dot (its selection callback) lists that sample alone.
    app.session_state[compare_view.POINT] = 7
    app.run()
    assert_ok(app)
    assert table_ids(app) == [7]
    assert "Test sample #7, picked on the agreement map" in texts(app.markdown)
    app.button(key="every_sample_point").click().run()
    assert len(table_ids(app)) == len(a.y_test)


def test_a_sound_on_the_map_shows_its_spectrogram_when_hovered(app):
    """A tooltip cannot play a sound; each dot of a sound dataset carries its spectrogram."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig, RunStore
    from test_compare_page import chart_rows
    from test_pages import open_dataset

    store = RunStore()
    for family in ("pooled-logreg", "pooled-mlp"):
        train_run(RunConfig.make("spoken-digits", family, train={"epochs": 1}), store)
    open_dataset(app, "pages/compare.py", "spoken-digits")
    rows = chart_rows(app, "Agreement map: which samples each model gets right")
    assert rows and all(r["image"].startswith("data:image/png;base64,") for r in rows)
