"""Shared fixtures: every test writes under its own temporary folders, never the user's; the
page tests' app (AppTest over app.py) and fresh Streamlit caches; datasets loaded once."""

from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config as streamlit_config

from nnapps.data import load_dataset
from nnapps.features import ImageStandardizer
from nnapps.training.loop import TensorData

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def error_details():
    """.streamlit/config.toml hides error details from a hosted copy's visitors; a failing
    AppTest needs them."""
    streamlit_config.set_option("client.showErrorDetails", "full")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """NNAPPS_HOME and NNAPPS_DATA_DIR point into tmp_path (subprocesses inherit them)."""
    home, data = tmp_path / "nnapps_home", tmp_path / "nnapps_data"
    monkeypatch.setenv("NNAPPS_HOME", str(home))
    monkeypatch.setenv("NNAPPS_DATA_DIR", str(data))
    return home


@pytest.fixture(scope="session")
def own_dirs(tmp_path_factory):
    """For module and session fixtures, which isolated_dirs does not reach: own_dirs(name) is a
    block in which NNAPPS_HOME and NNAPPS_DATA_DIR point at fresh folders; it yields (home, mp)."""
    @contextmanager
    def dirs(name: str):
        with pytest.MonkeyPatch.context() as mp:
            home = tmp_path_factory.mktemp(f"{name}_home")
            mp.setenv("NNAPPS_HOME", str(home))
            mp.setenv("NNAPPS_DATA_DIR", str(tmp_path_factory.mktemp(f"{name}_data")))
            yield home, mp
    return dirs


def _load_once(own_dirs, name: str):
    """A dataset split with seed 0, loaded under session-wide temporary folders."""
    with own_dirs("session"):
        return load_dataset(name, 0)


@pytest.fixture(scope="session")
def digits(own_dirs):
    """scikit-learn's digits split with seed 0; loaded once, read-only for every test."""
    return _load_once(own_dirs, "digits")


@pytest.fixture(scope="session")
def reviews(own_dirs):
    """The made reviews (a few thousand short sentences, 2 classes) split with seed 0; read-only."""
    return _load_once(own_dirs, "reviews")


@pytest.fixture(scope="session")
def spoken_digits(own_dirs):
    """The shipped spoken digits (3,030 one-second clips at 8 kHz, 10 classes), seed 0; read-only."""
    return _load_once(own_dirs, "spoken-digits")


@pytest.fixture(scope="session")
def digits_tensors(digits):
    """The digits splits standardised on the training split, as train_run prepares them."""
    pre = ImageStandardizer().fit(digits.X_train)
    return TensorData.from_numpy(pre.transform(digits.X_train), digits.y_train,
                                 pre.transform(digits.X_val), digits.y_val)


# --- the pages in AppTest (helpers in page_helpers.py) ----------------------------------

@pytest.fixture
def fresh_services(isolated_dirs, monkeypatch):
    """Empty Streamlit caches, so a page test has its own store and queue (in isolated_dirs'
    folders); app asks for it, and a module of page tests without app marks its tests with
    pytest.mark.usefixtures("fresh_services")."""
    monkeypatch.setenv("NNAPPS_MAX_TRAININGS", "2")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app_navigation(fresh_services, monkeypatch):
    """Run app.py the way a server does once its st.navigation has run.

    A server decides once per process whether a pages/ folder means Streamlit's legacy
    multipage mode, and app.py's st.navigation turns that off for good. AppTest resets the
    flag before every run, so each run would take the legacy path, nnapps.ui.nav's
    ensure_app_navigation would rerun it, and that rerun drops the run's button clicks.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def app(app_navigation):
    """The whole app (st.navigation over pages/), run once on its default page (Home).

    On teardown any training the session left running is stopped and waited for, so no
    worker thread is still training when the next test (or the interpreter) starts.
    """
    from page_helpers import APP, POLL_TIMEOUT, RUN_TIMEOUT
    from streamlit.testing.v1 import AppTest

    from nnapps.ui import services, state

    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    yield at
    job_ids = list(at.session_state[state.JOBS]) if state.JOBS in at.session_state else []
    if job_ids:
        queue = services.get_queue()
        for job_id in job_ids:
            queue.stop(job_id)
        queue.wait(job_ids, timeout=POLL_TIMEOUT)
