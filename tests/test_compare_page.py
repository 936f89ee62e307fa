"""The Compare page's answers in AppTest: seeds grouped, the verdict, A minus B, and confusion
cells (clicked, or named by a link) that list exactly their samples."""

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from nnapps.analysis.comparison import cell_samples, group_runs, paired_verdict
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.ui import compare_view, state

from page_helpers import assert_ok, button, chart_specs, job_snapshots, open_page, texts
from test_pages import chart_data

# Page tests here get their own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")


def train_seeds(families=("mlp", "logreg"), seeds=(0, 1)) -> dict:
    store = RunStore()
    return {f: [train_run(RunConfig.make("digits", f, train={"epochs": 2, "seed": s}), store) for s in seeds]
            for f in families}


def chart_element(at, title: str):
    found = [c for c in at.get("vega_lite_chart") if json.loads(c.proto.spec).get("title") == title]
    assert len(found) == 1, [s.get("title") for s in chart_specs(at)]
    return found[0]


def chart_titled(at, title: str) -> dict:
    return json.loads(chart_element(at, title).proto.spec)


def chart_rows(at, title: str) -> list[dict]:
    return chart_data(chart_element(at, title)).to_dict("records")


def table_ids(at) -> list[int]:
    return at.dataframe(key="prob_table").value["#"].tolist()


def test_seeds_are_grouped_with_their_spread_and_a_verdict(app):
    runs = train_seeds()
    open_page(app, "pages/compare.py")
    metrics = app.dataframe[0].value
    mlp, logreg = group_runs(runs["mlp"])[0], group_runs(runs["logreg"])[0]
    assert list(metrics["run"]) == [mlp.label(), logreg.label()]
    assert list(metrics["seeds"]) == [2, 2]
    accs = [r.metrics["accuracy"] for r in runs["mlp"]]
    assert metrics["accuracy"][0] == pytest.approx(np.mean(accs))
    assert metrics["± std"][0] == f"{np.std(accs, ddof=1):.2%}"
    # The curves are the mean over seeds with a band.
    marks = [layer["mark"]["type"] for layer in chart_titled(app, "Loss per epoch")["layer"]]
    assert "errorband" in marks
    # The verdict is the library's, told in one sentence.
    verdict = paired_verdict(mlp, logreg)
    assert any(m == f"**Is it real?** {verdict.sentence()}" for m in texts(app.markdown))
    # Each seed on demand: one row per run.
    app.toggle(key="each_seed").set_value(True).run()
    assert_ok(app)
    assert list(app.dataframe[0].value["seeds"]) == [1, 1, 1, 1]


def test_difference_matrix_is_a_minus_b(app):
    runs = train_seeds(seeds=(0,))
    a, b = runs["mlp"][0], runs["logreg"][0]
    open_page(app, "pages/compare.py")
    labels = np.arange(10)
    expected = (skm.confusion_matrix(a.y_test, a.test_proba.argmax(1), labels=labels)
                - skm.confusion_matrix(b.y_test, b.test_proba.argmax(1), labels=labels))
    shown = np.zeros((10, 10))
    for row in chart_rows(app, "A minus B"):
        shown[a.class_names.index(row["true"]), a.class_names.index(row["predicted"])] = row["difference"]
    np.testing.assert_array_equal(shown, expected)
    # Swapping A and B flips its sign.
    app.selectbox(key=compare_view.VS_A).set_value(1).run()
    app.selectbox(key=compare_view.VS_B).set_value(0).run()
    assert_ok(app)
    flipped = {(r["true"], r["predicted"]): r["difference"] for r in chart_rows(app, "A minus B")}
    assert all(flipped[(a.class_names[i], a.class_names[j])] == -expected[i, j] for i in range(10) for j in range(10))


def busiest_mistake(run) -> tuple[int, int]:
    cm = np.array(run.metrics["confusion"])
    np.fill_diagonal(cm, 0)
    i, j = np.unravel_index(cm.argmax(), cm.shape)
    return int(i), int(j)


def test_a_cell_in_the_link_lists_exactly_its_samples(app):
    runs = train_seeds(seeds=(0,))
    a, b = runs["mlp"][0], runs["logreg"][0]
    i, j = busiest_mistake(a)
    y = a.y_test
    by_a = np.flatnonzero((y == i) & (a.test_proba.argmax(1) == j))
    by_b = np.flatnonzero((y == i) & (b.test_proba.argmax(1) == j))
    assert len(by_a) > 0
    app.query_params[compare_view.VS_PARAM] = "0.1"
    app.query_params[compare_view.CELL_PARAM] = f"{i}.{j}.a"
    open_page(app, "pages/compare.py")
    assert table_ids(app) == by_a.tolist()
    assert any(f"{len(by_a):,} samples" in m for m in texts(app.markdown))
    app.segmented_control(key="cell_by").set_value("either").run()
    assert_ok(app)
    assert table_ids(app) == sorted(set(by_a) | set(by_b))
    assert app.query_params[compare_view.CELL_PARAM] == f"{i}.{j}.either"
    if len(by_b):
        app.segmented_control(key="cell_by").set_value("B").run()
        assert table_ids(app) == by_b.tolist()
    button(app, "Every sample").click().run()
    assert_ok(app)
    assert len(table_ids(app)) == len(y)
    assert compare_view.CELL_PARAM not in app.query_params


def test_a_cell_of_one_run_and_bad_cells(app):
    runs = train_seeds(families=("mlp", "logreg", "cnn"), seeds=(0,))
    cnn = runs["cnn"][0]
    i, j = busiest_mistake(cnn)
    app.query_params[compare_view.CELL_PARAM] = f"{i}.{j}.r2"  # the third run shown, not A or B
    open_page(app, "pages/compare.py")
    shown = [run.run_id for family in ("mlp", "logreg", "cnn") for run in runs[family]]
    assert app.multiselect(key=state.COMPARE_RUNS).value == shown
    assert table_ids(app) == cell_samples(cnn.y_test, [cnn.test_proba], i, j).tolist()
    for bad in ("10.1.a", "1.1.r3", "1.x.a", "1.2.c"):
        app.query_params[compare_view.CELL_PARAM] = bad
        app.run()
        assert_ok(app)
        assert any(f"({bad!r}) does not fit these runs" in w for w in texts(app.warning))
    # Taking the run out forgets its cell rather than failing.
    app.query_params[compare_view.CELL_PARAM] = f"{i}.{j}.r2"
    app.run()
    assert table_ids(app) == cell_samples(cnn.y_test, [cnn.test_proba], i, j).tolist()
    app.multiselect(key=state.COMPARE_RUNS).set_value(shown[:2]).run()
    assert_ok(app)
    assert len(table_ids(app)) == len(cnn.y_test) and compare_view.CELL_PARAM not in app.query_params
    app.query_params[compare_view.VS_PARAM] = "0.5"
    app.run()
    assert any("choice of A and B ('0.5') does not match its runs" in w for w in texts(app.warning))


def test_cell_samples_are_exactly_that_cell():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    probas = [rng.random((200, 4)) for _ in range(2)]
    preds = [p.argmax(1) for p in probas]
    for i in range(4):
        for j in range(4):
            assert set(cell_samples(y, probas[:1], i, j)) == {k for k in range(200) if y[k] == i and preds[0][k] == j}
            assert set(cell_samples(y, probas, i, j)) == {
                k for k in range(200) if y[k] == i and j in (preds[0][k], preds[1][k])}
    with pytest.raises(ValueError):
        cell_samples(y, [], 0, 0)


def test_train_page_trains_three_seeds_in_one_click(app):
    open_page(app, "pages/train.py")
    app.number_input(key="train_image_epochs").set_value(1)
    app.button(key="three_seeds").click().run()
    assert_ok(app)
    assert app.number_input(key=state.TRAIN_SEEDS).value == 3
    button(app, "Train 6 models").click().run()
    assert_ok(app)
    jobs = job_snapshots(app)
    assert sorted((j.config.family, j.config.train["seed"]) for j in jobs) == \
        sorted((f, s) for f in ("mlp", "cnn") for s in (0, 1, 2))


def confusion_cells(at, title: str) -> np.ndarray:
    rows = chart_rows(at, title)
    names = sorted({r["true"] for r in rows}, key=lambda n: int(n))
    cm = np.zeros((len(names), len(names)))
    for r in rows:
        cm[names.index(r["true"]), names.index(r["predicted"])] = r["count"]
    return cm


def test_the_scrubber_replays_every_run_at_epoch_k(app):
    store = RunStore()
    mlp = train_run(RunConfig.make("digits", "mlp", train={"epochs": 4, "patience": 0}), store)
    logreg = train_run(RunConfig.make("digits", "logreg"), store)
    open_page(app, "pages/compare.py")
    slider = app.select_slider(key="replay_epoch")
    assert list(slider.options) == ["1", "2", "3", "4", "end"] and slider.value == "end"
    final = confusion_cells(app, mlp.label)
    np.testing.assert_array_equal(final, mlp.metrics["confusion"])

    app.select_slider(key="replay_epoch").set_value(4).run()
    assert_ok(app)
    np.testing.assert_array_equal(confusion_cells(app, mlp.label), final)  # the last epoch is the end

    app.select_slider(key="replay_epoch").set_value(1).run()
    assert_ok(app)
    at_one = store.snapshots(mlp.run_id)["proba"][0].astype(np.float32)
    expected = skm.confusion_matrix(mlp.y_test, at_one.argmax(1), labels=np.arange(10))
    np.testing.assert_array_equal(confusion_cells(app, mlp.label), expected)
    assert not np.array_equal(expected, final)
    # The baseline has no epochs: it stays as it ended. A minus B follows A's epoch.
    np.testing.assert_array_equal(confusion_cells(app, logreg.label), logreg.metrics["confusion"])
    diff = {(r["true"], r["predicted"]): r["difference"] for r in chart_rows(app, "A minus B")}
    assert all(diff[(str(i), str(j))] == expected[i, j] - logreg.metrics["confusion"][i][j]
               for i in range(10) for j in range(10))
    # The sample table too, and a rule on the curves.
    rows = app.dataframe(key="prob_table").value
    np.testing.assert_allclose(rows[f"{mlp.label} p"], at_one.max(1), rtol=1e-6)
    assert any(layer.get("mark", {}).get("type") == "rule" for layer in chart_titled(app, "Loss per epoch")["layer"])
