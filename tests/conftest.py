"""Shared fixtures: every test writes under its own temporary folders, never the user's."""

from pathlib import Path

import pytest  # noqa: E402
from streamlit import config as streamlit_config  # noqa: E402


@pytest.fixture(autouse=True)
def error_details():
    """.streamlit/config.toml hides error details from a hosted copy's visitors; a failing
    AppTest needs them."""
    streamlit_config.set_option("client.showErrorDetails", "full")

from nnapps.data import load_dataset  # noqa: E402
from nnapps.features import ImageStandardizer  # noqa: E402
from nnapps.training import TensorData  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """NNAPPS_HOME and NNAPPS_DATA_DIR point into tmp_path (subprocesses inherit them)."""
    home, data = tmp_path / "nnapps_home", tmp_path / "nnapps_data"
    monkeypatch.setenv("NNAPPS_HOME", str(home))
    monkeypatch.setenv("NNAPPS_DATA_DIR", str(data))
    return home


def _load_once(tmp_path_factory, name: str):
    """A dataset split with seed 0, loaded under session-wide temporary folders."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNAPPS_HOME", str(tmp_path_factory.mktemp("session_home")))
        mp.setenv("NNAPPS_DATA_DIR", str(tmp_path_factory.mktemp("session_data")))
        return load_dataset(name, 0)


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    """scikit-learn's digits split with seed 0; loaded once, read-only for every test."""
    return _load_once(tmp_path_factory, "digits")


@pytest.fixture(scope="session")
def reviews(tmp_path_factory):
    """The made reviews (a few thousand short sentences, 2 classes) split with seed 0; read-only."""
    return _load_once(tmp_path_factory, "reviews")


@pytest.fixture(scope="session")
def spoken_digits(tmp_path_factory):
    """The shipped spoken digits (3,030 one-second clips at 8 kHz, 10 classes), seed 0; read-only."""
    return _load_once(tmp_path_factory, "spoken-digits")


@pytest.fixture(scope="session")
def digits_tensors(digits):
    """The digits splits standardised on the training split, as train_run prepares them."""
    pre = ImageStandardizer().fit(digits.X_train)
    return TensorData.from_numpy(pre.transform(digits.X_train), digits.y_train,
                                 pre.transform(digits.X_val), digits.y_val)
