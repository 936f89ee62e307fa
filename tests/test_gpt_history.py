"""A GPT run's history by step: made by training, kept by the store, checkpoints and bundles,
made from the measurements of runs stored before it existed; and the GPT page's comparison of
runs on the shared curves chart."""

import json

import pytest
from page_helpers import assert_ok, encodings, open_page

from nnapps.data import corpora
from nnapps.gpt import runs as gpt_runs
from nnapps.store.bundles import export_bundle, read_bundle
from nnapps.store.runs import RunStore
from nnapps.training.loop import History

TINY = {"n_layers": 1, "n_heads": 2, "width": 32, "context": 16}
TEXT = "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! " * 8


def tiny_run(store, seed: int = 0, steps: int = 12):
    corpus = corpora.user_text(TEXT.encode(), "fox.txt")
    config = gpt_runs.gpt_config(corpus.name, TINY, {"steps": steps, "eval_every": 4, "batch_size": 4,
                                                      "seed": seed})
    return gpt_runs.train_gpt_run(config, store, corpus)


def test_a_gpt_run_has_a_history_by_step_that_the_store_keeps():
    store = RunStore()
    run = tiny_run(store)
    history, curve = run.history, run.metrics["curve"]
    assert history.unit == "step" and [e.epoch for e in history.epochs] == [0, 4, 8, 12] == [p["step"] for p in curve]
    assert [e.val_loss for e in history.epochs] == [p["val_loss"] for p in curve]
    assert [e.train_loss for e in history.epochs] == [p["train_loss"] for p in curve]
    assert all(0.0 <= e.val_acc <= 1.0 and 0.0 <= e.train_acc <= 1.0 for e in history.epochs)
    # Seconds per entry add up to the training time of the last measurement.
    assert history.train_seconds == pytest.approx(curve[-1]["seconds"])
    assert history.best_epoch == 12  # the weights kept are the last step's
    stored = store.get(run.run_id)
    assert stored.history == history
    assert gpt_runs.gpt_runs(store)[0].history == history


def test_a_run_stored_without_a_history_reads_one_from_its_measurements():
    store = RunStore()
    run = tiny_run(store)
    # As runs were stored before: no history, measurements without accuracies.
    run.history = History(device="cpu")
    for point in run.metrics["curve"]:
        del point["train_acc"], point["val_acc"]
    store.put(run, store.load_weights(run.run_id))
    assert store.get(run.run_id).history.epochs == []
    [read] = gpt_runs.gpt_runs(store)
    assert read.history.unit == "step" and len(read.history.epochs) == len(run.metrics["curve"])
    assert [e.val_loss for e in read.history.epochs] == [p["val_loss"] for p in run.metrics["curve"]]
    assert all(e.val_acc is None for e in read.history.epochs)


def test_the_shipped_checkpoint_without_a_history_gets_one_and_a_new_checkpoint_keeps_it(tmp_path):
    from safetensors import safe_open
    with safe_open(str(gpt_runs.SHIPPED), "pt") as f:
        header = json.loads(f.metadata()["nnapps.run"])
    store = RunStore(tmp_path / "a")
    shipped = gpt_runs.ensure_shipped(store)
    assert [e.epoch for e in shipped.history.epochs] == [p["step"] for p in header["metrics"]["curve"]]
    assert shipped.history.unit == "step"
    run = tiny_run(store)
    path = gpt_runs.export_checkpoint(store, run, tmp_path / "ck.safetensors")
    assert gpt_runs.ensure_shipped(RunStore(tmp_path / "b"), path).history == run.history


def test_a_bundle_keeps_a_gpt_runs_history(tmp_path):
    import io
    import zipfile
    store = RunStore(tmp_path / "a")
    run = tiny_run(store)
    data = export_bundle(store, run)
    assert read_bundle(data)[0].history == run.history
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first_line = archive.read("history.csv").decode().splitlines()[0]
    assert first_line.startswith("step,train_loss")


def loss_charts(at) -> list:
    """(runs drawn, rows) of every loss-by-step chart on the page: Streamlit sends an Altair chart's
    rows beside its spec (Arrow bytes)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
    found = []
    for element in at.get("vega_lite_chart"):
        if json.loads(element.proto.spec).get("title") == "Loss per step":
            [rows] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in element.proto.datasets]
            found.append((set(rows["run"]), rows, json.loads(element.proto.spec)))
    return found


def test_the_gpt_page_overlays_the_loss_of_the_runs_chosen(app):
    store = RunStore()
    runs = [tiny_run(store, seed=0), tiny_run(store, seed=1)]
    gpt = open_page(app, "pages/gpt.py")
    picker = gpt.multiselect(key="gpt_compare_runs")
    assert set(picker.value) == {r.run_id for r in runs}  # the two newest (the shipped model is older)
    names = {r.run_id: picker.format_func(r.run_id) for r in runs}
    assert len(set(names.values())) == 2
    [(_, rows, spec)] = [c for c in loss_charts(gpt) if c[0] == set(names.values())]
    for r in runs:  # every measurement of both, validation and training
        mine = rows[rows["run"] == names[r.run_id]]
        assert sorted(zip(mine["epoch"], mine["split"], mine["loss"])) == sorted(
            [(e.epoch, "validation", e.val_loss) for e in r.history.epochs]
            + [(e.epoch, "train", e.train_loss) for e in r.history.epochs])
    line = encodings(spec)[0]
    assert line["x"]["title"] == "Step" and line["color"]["legend"]
    picker.set_value([runs[0].run_id]).run()
    assert_ok(gpt)
    assert [c for c in loss_charts(gpt) if c[0] == {names[runs[0].run_id]}]
    assert not [c for c in loss_charts(gpt) if len(c[0]) == 2]
