"""The sweep mode of the Train page and the Sweeps page, run in-process with AppTest."""

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from nnapps.store.runs import RunStore
from nnapps.ui import state
from nnapps.ui.sweep_form import get_sweeps

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The whole app on fresh services, with app.py's navigation in force (see test_pages.py)."""
    monkeypatch.setenv("NNAPPS_MAX_TRAININGS", "1")
    monkeypatch.setenv("NNAPPS_EXECUTOR", "threads")
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    yield at
    if state.SWEEP in at.session_state:
        get_sweeps().stop(at.session_state[state.SWEEP])
        get_sweeps().wait(at.session_state[state.SWEEP], timeout=TIMEOUT)
    st.cache_resource.clear()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def sweep_mode(at: AppTest) -> AppTest:
    ok(at.switch_page("pages/train.py").run())
    at.session_state[state.TRAIN_MODE] = "Sweep"
    return ok(at.run())


def test_sweep_mode_counts_trials_and_refuses_bad_values(app):
    at = sweep_mode(app)
    at.text_input(key="sweep_image_train_lr").input("0.003, 0.01")
    at.text_input(key="sweep_image_train_epochs").input("1")
    at.number_input(key="sweep_seeds").set_value(2)
    ok(at.run())
    assert any("4 trials** (2 configs x 2 seeds): 0 stored, 4 to train" in m.value for m in at.markdown)
    at.text_input(key="sweep_image_train_lr").input("0.003")
    at.number_input(key="sweep_seeds").set_value(1)
    ok(at.run())
    assert any("1 trial** (1 config x 1 seed): 0 stored, 1 to train" in m.value for m in at.markdown)
    at.text_input(key="sweep_image_train_lr").input("lin:1:2")
    ok(at.run())
    assert any("lin:LOW:HIGH:COUNT" in e.value for e in at.error)


def test_a_sweep_started_on_the_train_page_shows_its_results_on_the_sweeps_page(app):
    at = sweep_mode(app)
    at.text_input(key="sweep_image_train_lr").input("0.003, 0.01")
    at.text_input(key="sweep_image_train_epochs").input("1")
    at.text_input(key="sweep_image_mlp_width").input("16")
    at.number_input(key="sweep_seeds").set_value(2)
    ok(at.run())
    [start] = [b for b in at.button if b.label.startswith("Start the sweep")]
    ok(start.click().run())
    sweep_id = at.session_state[state.SWEEP]
    status = get_sweeps().wait(sweep_id, timeout=TIMEOUT)
    assert status.counts()["done"] == 4
    ok(at.run())
    assert any("4 done, 0 running, 0 queued of 4 trials" in p.proto.text for p in at.get("progress"))

    ok(at.switch_page("pages/sweeps.py").run())
    table = at.dataframe[0].value
    assert list(table["lr"]) == [r.settings["lr"] for r in status.results]
    assert list(table["seeds"]) == [2, 2]
    store = RunStore()
    for shown, result in zip(table["test mean"].to_numpy(), status.results):
        accuracies = [store.get(run_id).metrics["accuracy"] for run_id in result.run_ids]
        assert shown == pytest.approx(sum(accuracies) / 2)
    titles = [json.loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]
    assert "Settings against validation accuracy" in titles
