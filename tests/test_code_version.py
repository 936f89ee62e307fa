"""Run identity follows the code: the code version is a hash of the source that determines a
run's numbers, so changed code trains again, and runs stored by older code stay readable."""

from dataclasses import asdict
from pathlib import Path

import numpy as np
from page_helpers import open_page

import nnapps
from nnapps.training.pipeline import Predictor, predict_proba, train_run
from nnapps.store.runs import CODE_VERSION, NUMBERS_SOURCES, RunConfig, RunStore, source_digest

PACKAGE = Path(nnapps.__file__).resolve().parent
OLDER = "0.1.0"  # what every run stored before the version followed the code carries


def _tree(root: Path) -> Path:
    for rel, text in {"models/mlp.py": "WIDTH = 128\n", "training/loop.py": "LR = 1e-3\n",
                      "ui/charts.py": "COLOUR = 'red'\n", "store/links.py": "TOKEN = 1\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_version_is_the_release_and_the_hash_of_the_package_source():
    assert CODE_VERSION == f"{nnapps.__version__}+{source_digest(PACKAGE)}"
    assert RunConfig.make("digits", "mlp").code_version == CODE_VERSION
    # The listed sources are really there (a glob that matched nothing would hash nothing).
    assert all(any(PACKAGE.glob(pattern)) for pattern in NUMBERS_SOURCES)


def test_an_edit_to_a_model_or_the_training_changes_the_version(tmp_path):
    root = _tree(tmp_path)
    before = source_digest(root)
    assert source_digest(root) == before  # the same files, the same version
    for rel, text in (("models/mlp.py", "WIDTH = 64\n"), ("training/loop.py", "LR = 1e-3  # a comment too\n"),
                      ("models/new_family.py", "")):
        old = (root / rel).read_text() if (root / rel).exists() else None
        (root / rel).write_text(text)
        assert source_digest(root) != before, rel
        if old is None:
            (root / rel).unlink()
        else:
            (root / rel).write_text(old)
    assert source_digest(root) == before


def test_what_never_changes_a_number_leaves_the_version_alone(tmp_path):
    root = _tree(tmp_path)
    before = source_digest(root)
    (root / "ui/charts.py").write_text("COLOUR = 'blue'\n")
    (root / "links.py").write_text("TOKEN = 2\n")
    (root / "models/mlp.py").write_bytes(b"WIDTH = 128\r\n")  # a Windows checkout of the same file
    assert source_digest(root) == before


def _older(config: RunConfig) -> RunConfig:
    return RunConfig(**{**asdict(config), "code_version": OLDER})


def test_a_run_from_older_code_stays_readable_and_the_same_config_trains_again(digits):
    store = RunStore()
    current = RunConfig.make("digits", "logreg")
    old = train_run(_older(current), store, digits)
    assert old.run_id != current.run_id

    new = train_run(current, store, digits)
    assert new.run_id == current.run_id and new.config.code_version == CODE_VERSION
    assert store.get(old.run_id) is not None  # training again kept the older run
    assert {r.run_id for r in store.list_runs(dataset="digits")} == {old.run_id, new.run_id}

    # The older run reads back whole: its config, metrics, probabilities and a working model.
    again = store.get(old.run_id)
    assert again.config.code_version == OLDER and again.metrics == old.metrics
    np.testing.assert_array_equal(again.test_proba, old.test_proba)
    predictor = Predictor(again, store)
    X = predictor.preprocessor.transform(digits.X_test[:5])
    np.testing.assert_allclose(predict_proba(predictor.model, X, predictor.n_classes), again.test_proba[:5],
                               atol=1e-6)


def test_the_compare_page_shows_a_run_from_older_code_beside_a_new_one(app):
    store = RunStore()
    old = train_run(_older(RunConfig.make("digits", "logreg")), store)
    new = train_run(RunConfig.make("digits", "logreg"), store)
    open_page(app, "pages/compare.py")
    assert set(app.multiselect(key="compare_runs").value) == {old.run_id, new.run_id}
    metrics = app.dataframe[0].value
    assert len(metrics) == 2 and list(metrics["status"]) == ["complete", "complete"]
