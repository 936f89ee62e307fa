"""Run bundles: export, import elsewhere with the same probabilities, and malformed bundles refused."""

import io
import json
import zipfile

import numpy as np
import pytest
import torch

from nnapps.store.bundles import MEMBERS, BundleError, bundle_name, export_bundle, import_bundle, read_bundle
from nnapps.training.pipeline import load_model, load_preprocessor, predict_proba, train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.ui.escape import escape
from page_helpers import assert_ok, open_page, texts


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An MLP, a CNN and a logistic regression on digits, in a store of their own."""
    store = RunStore(tmp_path_factory.mktemp("source"))
    made = [train_run(RunConfig.make("digits", family, train={"epochs": 2}), store)
            for family in ("mlp", "cnn", "logreg")]
    return store, made


def rezip(data: bytes, change=None, add: dict | None = None, drop: str | None = None) -> bytes:
    """The bundle with one member changed by change(name, bytes), members added or one dropped."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name == drop:
                continue
            content = src.read(name)
            dst.writestr(name, change(name, content) if change else content)
        for name, content in (add or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("index", [0, 1, 2], ids=["mlp", "cnn", "logreg"])
def test_round_trip_gives_the_same_run_and_probabilities(runs, tmp_path, index, digits):
    store, made = runs
    run = made[index]
    data = export_bundle(store, run)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(MEMBERS)
        history = z.read("history.csv").decode().splitlines()
        assert history[0] == "epoch,train_loss,train_acc,val_loss,val_acc,seconds"
        assert len(history) == 1 + len(run.history.epochs)
    other = RunStore(tmp_path / "elsewhere")
    imported = import_bundle(other, data)
    # Kept apart from a training of its config, and checked: digits is on this copy.
    assert imported.config == run.config and imported.run_id.startswith(f"{run.run_id}-")
    assert other.get(run.run_id) is None and other.get(imported.run_id) is not None
    assert imported.provenance.checked.startswith("test probabilities recomputed here")
    assert np.array_equal(imported.test_proba, run.test_proba)
    assert np.array_equal(imported.y_test, run.y_test)
    # Metrics are recomputed from the probabilities on import: the same, to float precision.
    assert imported.metrics.keys() == run.metrics.keys() and imported.history == run.history
    for key, value in run.metrics.items():
        assert imported.metrics[key] == (pytest.approx(value, rel=1e-6) if isinstance(value, float) else value), key
    # The imported model predicts what the original stored: it compares like any other run.
    model, pre = load_model(imported, other), load_preprocessor(imported)
    again = predict_proba(model, pre.transform(digits.X_test), len(imported.class_names))
    assert np.allclose(again, run.test_proba, atol=1e-5)
    assert bundle_name(run).endswith(f"-{run.run_id}.zip")


@pytest.mark.slow
def test_a_gpt_run_round_trips(tmp_path):
    from nnapps.data import corpora
    from nnapps.gpt.runs import gpt_config, train_gpt_run
    corpus = corpora.user_text(("a short text to learn. " * 40).encode(), "t.txt")
    config = gpt_config(corpus.name, {"n_layers": 1, "width": 32, "context": 16}, {"steps": 5, "eval_every": 5})
    store = RunStore(tmp_path / "a")
    run = train_gpt_run(config, store, corpus)
    imported = import_bundle(RunStore(tmp_path / "b"), export_bundle(store, run))
    assert imported.config == run.config and np.array_equal(imported.test_proba, run.test_proba)
    assert imported.provenance.checked.startswith("not checked: its text")  # not kept on this copy
    corpora.keep(corpus)
    again = read_bundle(export_bundle(store, run))[0]
    assert again.provenance.checked.startswith("test probabilities recomputed")


def broken(runs, **kwargs) -> bytes:
    store, made = runs
    return rezip(export_bundle(store, made[0]), **kwargs)


@pytest.mark.parametrize("make, message", [
    (lambda r: b"not a zip", "not a zip"),
    (lambda r: broken(r, add={"../../evil.json": "{}"}), "unexpected member"),
    (lambda r: broken(r, add={"model.pkl": b"\x80\x04K\x01."}), "pickled objects are never loaded"),
    (lambda r: broken(r, drop="metrics.json"), "lacks metrics.json"),
    (lambda r: broken(r, change=lambda n, c: b"{not json" if n == "config.json" else c), "not valid JSON"),
    (lambda r: broken(r, change=lambda n, c: _json_edit(c, hparams={"width": 99999}) if n == "config.json" else c),
     "does not describe a run"),
    (lambda r: broken(r, change=lambda n, c: _json_edit(c, family="resnet") if n == "config.json" else c),
     "unknown model family"),
    (lambda r: broken(r, change=lambda n, c: _json_edit(c, extra="x") if n == "config.json" else c),
     "exactly the fields"),
    (lambda r: broken(r, change=lambda n, c: c.replace(b"0.", b"7.", 1) if n == "test_probabilities.csv" else c),
     "between 0 and 1"),
    (lambda r: broken(r, change=lambda n, c: b"garbage" if n == "weights.safetensors" else c), "cannot be read"),
    (lambda r: broken(r, change=lambda n, c: _other_weights() if n == "weights.safetensors" else c),
     "do not fit"),
    (lambda r: broken(r, change=lambda n, c: _json_edit(c, status="half") if n == "run.json" else c),
     "status must be"),
])
def test_malformed_bundles_are_refused_with_a_reason(runs, make, message):
    with pytest.raises(BundleError, match=message):
        read_bundle(make(runs))


def test_oversized_members_are_refused_before_reading(runs, monkeypatch):
    from nnapps.store import bundles
    monkeypatch.setattr(bundles, "MAX_MEMBER_BYTES", 100)
    store, made = runs
    with pytest.raises(BundleError, match="unpacks to"):
        read_bundle(export_bundle(store, made[0]))


def _json_edit(content: bytes, **changes) -> bytes:
    value = json.loads(content)
    for key, change in changes.items():
        value[key] = {**value[key], **change} if isinstance(change, dict) else change
    return json.dumps(value).encode()


def _other_weights() -> bytes:
    from safetensors.torch import save
    return save({"net.0.weight": torch.zeros(3, 3)})


def test_command_line_exports_and_imports(runs, tmp_path, monkeypatch, capsys):
    from nnapps import cli
    store, made = runs
    monkeypatch.setenv("NNAPPS_HOME", str(store.root))
    path = tmp_path / "mlp.zip"
    assert cli.main(["export", made[0].run_id, "--out", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"run_id": made[0].run_id, "path": str(path)}
    monkeypatch.setenv("NNAPPS_HOME", str(tmp_path / "elsewhere"))
    assert cli.main(["import", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"].startswith(made[0].run_id) and out["model"] == "mlp"
    assert RunStore(tmp_path / "elsewhere").get(out["run_id"]) is not None
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip(path.read_bytes(), add={"x.pkl": b"."}))
    assert cli.main(["import", str(bad)]) == 2
    assert "pickled objects are never loaded" in capsys.readouterr().err
    assert cli.main(["export", "nope"]) == 2
    assert "no stored run" in capsys.readouterr().err


# --- on the Compare page -------------------------------------------------------------------


def test_compare_imports_a_bundle_into_an_empty_store_and_lists_it(runs, app):
    store, made = runs
    data = export_bundle(store, made[1])
    open_page(app, "pages/compare.py")
    app.file_uploader(key="import_bundle").upload("cnn.zip", data, "application/zip").run()
    assert_ok(app)
    imported = RunStore().list_runs()
    assert [r.config for r in imported] == [made[1].config]
    assert imported[0].run_id in app.multiselect(key="compare_runs").value
    assert any(s.value.startswith("Imported CNN") for s in app.success)
    downloads = [d.proto.label for d in app.get("download_button") if d.proto.label.startswith("Download")]
    assert downloads == [f"Download {made[1].label} (imported)"]
    note = [c for c in texts(app.caption) if "imported by you" in c]
    assert note and "test probabilities recomputed here from its weights" in note[0]


def test_compare_refuses_a_bad_bundle_and_keeps_going(runs, app):
    store, made = runs
    data = rezip(export_bundle(store, made[0]), add={"evil.pkl": b"\x80."})
    open_page(app, "pages/compare.py")
    app.file_uploader(key="import_bundle").upload("evil.zip", data, "application/zip").run()
    assert_ok(app)
    assert [e.value for e in app.error] == [escape("evil.zip was not imported: the bundle holds evil.pkl: "
                                                   "pickled objects are never loaded here")]
    assert RunStore().list_runs() == []


# --- what a stranger's bundle cannot do ------------------------------------------------------

def _edit_csv_cell(content: bytes) -> bytes:
    lines = content.decode().splitlines()
    cells = lines[1].split(",")
    cells[-1] = "lots"
    lines[1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("change, message", [
    (lambda n, c: b"{}" if n == "metrics.json" else c, "metrics.json: params must be a number"),
    (lambda n, c: _json_edit(c, class_names=[f"k{i}" for i in range(10)]) if n == "run.json" else c,
     "classes|class names"),
    (lambda n, c: _edit_csv_cell(c) if n == "test_probabilities.csv" else c, "damaged|between 0 and 1"),
    (lambda n, c: b"[" * 100_000 + b"]" * 100_000 if n == "metrics.json" else c, "damaged|not valid JSON"),
    (lambda n, c: _json_edit(c, input_info={"shape": [1, 9, 9], "vocab_size": 0}) if n == "run.json" else c,
     "input shape"),
])
def test_a_bundle_must_agree_with_itself_and_with_this_copy(runs, change, message):
    with pytest.raises(BundleError, match=message):
        read_bundle(broken(runs, change=change))


def test_test_labels_must_be_this_copys_test_split(runs):
    def shuffled(name, content):
        if name != "test_probabilities.csv":
            return content
        lines = content.decode().splitlines()
        first = lines[1].split(",")
        first[0] = str((int(first[0]) + 1) % 10)
        first[1] = str(int(first[0]))  # digits' class names are "0".."9"
        lines[1] = ",".join(first)
        return ("\n".join(lines) + "\n").encode()
    with pytest.raises(BundleError, match="test labels"):
        read_bundle(broken(runs, change=shuffled))


def test_metrics_are_recomputed_and_the_date_is_now(runs, tmp_path):
    import time
    store, made = runs
    claims = lambda n, c: _json_edit(c, accuracy=1.0) if n == "metrics.json" else (  # noqa: E731
        _json_edit(c, created=1e300) if n == "run.json" else c)
    before = time.time()
    run = import_bundle(RunStore(tmp_path / "x"), rezip(export_bundle(store, made[0]), change=claims))
    assert run.metrics["accuracy"] == made[0].metrics["accuracy"] != 1.0
    assert before <= run.created <= time.time()


def test_a_bundle_never_replaces_a_run_stored_here(runs, tmp_path):
    store, made = runs
    data = rezip(export_bundle(store, made[0]),
                 change=lambda n, c: _json_edit(c, status="stopped") if n == "run.json" else c)
    here = RunStore(tmp_path / "here")
    here.put(made[0], store.load_weights(made[0].run_id))
    imported = import_bundle(here, data)
    assert imported.status == "stopped" and imported.run_id != made[0].run_id
    assert here.get(made[0].run_id).status == "complete"


def test_a_zip_bomb_member_is_refused_before_it_is_unpacked(runs):
    store, made = runs
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(export_bundle(store, made[0]))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, b" " * (50 * 2**20) if name == "weights.safetensors" else src.read(name))
    with pytest.raises(BundleError, match="zip bomb"):
        read_bundle(out.getvalue())


@pytest.mark.slow
def test_a_gpt_bundle_cannot_name_a_strange_corpus(tmp_path):
    from nnapps.data import corpora
    from nnapps.gpt.runs import gpt_config, train_gpt_run
    corpus = corpora.user_text(("a short text to learn. " * 40).encode(), "t.txt")
    store = RunStore(tmp_path / "a")
    run = train_gpt_run(gpt_config(corpus.name, {"n_layers": 1, "width": 32, "context": 16},
                                   {"steps": 5, "eval_every": 5}), store, corpus)
    evil = 'corpus:x"""\nprint("PWNED")\n"""'
    data = rezip(export_bundle(store, run),
                 change=lambda n, c: _json_edit(c, dataset=evil) if n == "config.json" else c)
    with pytest.raises(BundleError, match="unknown corpus"):
        read_bundle(data)
