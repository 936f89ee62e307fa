"""Run identity, the run store (SQLite + safetensors) and the pipeline that fills it."""

import multiprocessing
import threading

import numpy as np
import pytest
import torch

from nnapps.features import preprocessor_from_state
from nnapps.models import CLASSIFIERS
from nnapps.training.pipeline import build_model, load_model, predict_proba, train_run
from nnapps.models import InputInfo
from nnapps.store.runs import CODE_VERSION, Run, RunConfig, RunStore
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from nnapps.training.loop import EpochStats, History
from model_inputs import DATASET_FOR, modality_of

# ---- RunConfig ------------------------------------------------------------------------------


def test_make_fills_defaults_and_coerces():
    config = RunConfig.make("digits", "mlp", {"width": "32"}, {"lr": "0.01", "epochs": 3})
    assert config.hparams == {**CLASSIFIERS["mlp"].schema.defaults(), "width": 32}
    assert config.train == {**TRAIN_SCHEMA.defaults(), "lr": 0.01, "epochs": 3}
    assert config.split_seed == 0 and config.code_version == CODE_VERSION
    assert "device" not in config.train  # where a run trains is no part of what it is


@pytest.mark.parametrize("family, hparams, train, message", [
    ("mlp", {"width": 1}, {}, "width must be between"),
    ("mlp", {"kernel_size": 3}, {}, "unknown hyperparameter"),
    ("mlp", {}, {"optimizer": "lbfgs"}, "optimizer must be one of"),
    ("mlp", {}, {"device": "cpu"}, "unknown hyperparameter"),
    ("logreg", {}, {"epochs": 0}, "epochs must be between"),  # validated, then dropped
    ("resnet", {}, {}, "unknown model family"),
])
def test_make_validates(family, hparams, train, message):
    with pytest.raises(ValueError, match=message):
        RunConfig.make("digits", family, hparams, train)


def test_sklearn_family_keeps_only_the_seed():
    config = RunConfig.make("digits", "logreg", {"C": "0.5"}, {"epochs": 3, "lr": 0.1, "seed": 4})
    assert config.train == {"seed": 4}
    assert config.hparams == {"C": 0.5, "max_iter": 300}
    plain = RunConfig.make("digits", "logreg", {"C": 0.5}, {"seed": 4})
    assert config.run_id == plain.run_id


def test_run_id_is_stable_for_equal_configs():
    a = RunConfig.make("digits", "mlp", {"width": 64}, {"lr": 0.01})
    b = RunConfig.make("digits", "mlp", {"width": "64"}, {"lr": "1e-2"})
    assert a == b and a.run_id == b.run_id
    assert len(a.run_id) == 16 and int(a.run_id, 16) >= 0
    assert RunConfig.from_dict(a.to_dict()).run_id == a.run_id
    # Giving a default explicitly is the same run as leaving it out.
    assert RunConfig.make("digits", "mlp", {"width": 128}).run_id == RunConfig.make("digits", "mlp").run_id


@pytest.mark.parametrize("change", [
    dict(hparams={"width": 64}), dict(hparams={"activation": "tanh"}), dict(hparams={"dropout": 0.1}),
    dict(train={"lr": 0.002}), dict(train={"batch_size": 32}), dict(train={"optimizer": "sgd"}),
    dict(train={"patience": 0}), dict(train={"seed": 1}), dict(dataset="scattered-digits"),
    dict(split_seed=1), dict(family="cnn"),
])
def test_run_id_differs_when_anything_differs(change):
    base = dict(dataset="digits", family="mlp", hparams={}, train={}, split_seed=0)
    assert RunConfig.make(**{**base, **change}).run_id != RunConfig.make(**base).run_id


def test_run_id_differs_across_code_versions():
    config = RunConfig.make("digits", "mlp")
    other = RunConfig(**{**config.to_dict(), "code_version": CODE_VERSION + ".post1"})
    assert other.run_id != config.run_id


def test_label():
    assert RunConfig.make("digits", "mlp", {"width": 32}).label() == "MLP 2x32 relu"
    assert RunConfig.make("digits", "mlp", train={"seed": 3}).label().endswith(" seed 3")
    assert RunConfig.make("digits", "logreg", {"C": 0.5}).label() == "Logistic regression C=0.5"


# ---- RunStore with hand-made runs -----------------------------------------------------------


def fake_run(writer: int, i: int, status: str = "complete", dataset: str = "digits",
             split_seed: int = 0) -> tuple[Run, dict]:
    """A small run whose every number follows from (writer, i), so a reader can check it."""
    rng = np.random.default_rng(1000 * writer + i)
    config = RunConfig.make(dataset, "mlp", {"width": 2 + i}, {"seed": writer}, split_seed)
    proba = rng.random((7, 3)).astype(np.float32)
    stats = EpochStats(1, float(i), 0.5, float(writer), 0.25, 0.1, {"layers.1": 1.5}, {"layers.1": 2.5})
    run = Run(config=config, status=status, history=History(epochs=[stats], best_epoch=1),
              metrics={"accuracy": i / 100, "writer": writer}, class_names=["a", "b", "c"],
              input_info=InputInfo((1, 2, 2)), preprocessor={"kind": "image_standardizer", "mean": [0.5],
                                                    "std": [0.25]},
              test_proba=proba, y_test=rng.integers(0, 3, 7))
    weights = {"w": torch.as_tensor(rng.normal(size=(3, 4)).astype(np.float32)),
               "b": torch.arange(3, dtype=torch.int64) + i}
    return run, weights


def assert_same_run(got: Run, expected: Run) -> None:
    assert got.run_id == expected.run_id and got.config == expected.config
    assert got.status == expected.status and got.metrics == expected.metrics
    assert got.history == expected.history
    assert got.class_names == expected.class_names and got.input_info == expected.input_info
    assert got.preprocessor == expected.preprocessor and got.created == expected.created
    np.testing.assert_array_equal(got.test_proba, expected.test_proba)
    np.testing.assert_array_equal(got.y_test, expected.y_test)


def assert_same_weights(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key in expected:
        assert got[key].dtype == expected[key].dtype and torch.equal(got[key], expected[key])


def test_put_get_and_weights_round_trip(tmp_path):
    store = RunStore(tmp_path)
    run, weights = fake_run(0, 1)
    assert store.get(run.run_id) is None
    store.put(run, weights)
    assert_same_run(store.get(run.run_id), run)
    assert_same_weights(store.load_weights(run.run_id), weights)


def test_store_persists_across_instances(tmp_path):
    runs = [fake_run(0, i) for i in range(3)]
    store = RunStore(tmp_path)
    for run, weights in runs:
        store.put(run, weights)
    reopened = RunStore(tmp_path)
    for run, weights in runs:
        assert_same_run(reopened.get(run.run_id), run)
        assert_same_weights(reopened.load_weights(run.run_id), weights)
    assert [r.run_id for r in reopened.list_runs()] == [r.run_id for r, _ in runs]


def test_default_store_lives_under_nnapps_home(isolated_dirs):
    store = RunStore()
    assert store.root == isolated_dirs
    assert (isolated_dirs / "runs.sqlite").exists()


def test_put_replaces_a_run_with_the_same_id(tmp_path):
    store = RunStore(tmp_path)
    stopped, weights = fake_run(0, 1, status="stopped")
    store.put(stopped, weights)
    complete, weights2 = fake_run(0, 1, status="complete")
    complete.metrics["accuracy"] = 0.99
    store.put(complete, weights2)
    assert len(store.list_runs()) == 1
    assert store.get(complete.run_id).status == "complete"
    assert store.get(complete.run_id).metrics["accuracy"] == 0.99


def test_put_rejects_unknown_status(tmp_path):
    run, weights = fake_run(0, 1, status="running")
    with pytest.raises(ValueError, match=r"run status must be one of \('complete', 'stopped'\)"):
        RunStore(tmp_path).put(run, weights)


def test_list_runs_filters_and_orders_oldest_first(tmp_path):
    store = RunStore(tmp_path)
    made = [fake_run(0, i, dataset=dataset, split_seed=split_seed)[0] for i, dataset, split_seed in
            ((1, "digits", 0), (2, "digits", 1), (3, "scattered-digits", 0), (4, "digits", 0))]
    for k, run in enumerate(made):
        run.created = 1000.0 - k  # stored newest first
        store.put(run, {"w": torch.zeros(1)})
    ids = lambda runs: [r.run_id for r in runs]  # noqa: E731
    assert ids(store.list_runs()) == ids(made[::-1])
    assert ids(store.list_runs(dataset="digits")) == ids([made[3], made[1], made[0]])
    assert ids(store.list_runs(dataset="digits", split_seed=0)) == ids([made[3], made[0]])
    assert ids(store.list_runs(split_seed=1)) == ids([made[1]])
    assert store.list_runs(dataset="mnist") == []
    assert store.datasets() == ["digits", "scattered-digits"]


def test_delete_removes_row_and_files(tmp_path):
    store = RunStore(tmp_path)
    run, weights = fake_run(0, 1)
    keep, keep_weights = fake_run(0, 2)
    store.put(run, weights)
    store.put(keep, keep_weights)
    files = sorted(p.name for p in store.files.iterdir())
    assert len(files) == 4 and all(run.run_id in f or keep.run_id in f for f in files)
    assert store.delete(run.run_id) is True
    assert store.get(run.run_id) is None
    assert [r.run_id for r in store.list_runs()] == [keep.run_id]
    assert not any(run.run_id in p.name for p in store.files.iterdir())
    assert store.delete(run.run_id) is False
    assert_same_run(RunStore(tmp_path).get(keep.run_id), keep)


def test_no_temporary_files_are_left(tmp_path):
    store = RunStore(tmp_path)
    for i in range(3):
        store.put(*fake_run(0, i))
    assert not [p for p in store.files.iterdir() if p.suffix == ".tmp"]


# ---- concurrent writers ---------------------------------------------------------------------

N_PER_WRITER = 10


def put_many(root: str, writer: int, barrier=None, errors=None) -> None:
    """One writer: open the store and put N_PER_WRITER runs (in a process or a thread).

    errors (a queue or list) receives the traceback of a failure, so the test can show it.
    """
    try:
        if barrier is not None:
            barrier.wait(timeout=60)  # start together, so the writes overlap
        store = RunStore(root)
        for i in range(N_PER_WRITER):
            store.put(*fake_run(writer, i))
    except BaseException:
        if errors is None:
            raise
        import traceback
        report = f"writer {writer}: {traceback.format_exc()}"
        errors.put(report) if hasattr(errors, "put") else errors.append(report)


def check_all_written(root, writers) -> None:
    store = RunStore(root)
    assert len(store.list_runs()) == len(writers) * N_PER_WRITER
    for writer in writers:
        for i in range(N_PER_WRITER):
            expected, weights = fake_run(writer, i)
            got = store.get(expected.run_id)
            assert got is not None, f"run {writer}/{i} is missing"
            expected.created = got.created  # set at construction; everything else must match
            assert_same_run(got, expected)
            assert_same_weights(store.load_weights(expected.run_id), weights)


def test_concurrent_processes_write_one_store(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=put_many, args=(str(tmp_path), writer, barrier, errors))
             for writer in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    reports = []
    while not errors.empty():
        reports.append(errors.get(timeout=5))
    assert reports == [], "\n".join(reports)
    assert [p.exitcode for p in procs] == [0, 0]
    check_all_written(tmp_path, (1, 2))


def test_concurrent_threads_write_one_store(tmp_path):
    writers = (1, 2, 3, 4)
    barrier = threading.Barrier(len(writers))
    errors = []
    threads = [threading.Thread(target=put_many, args=(str(tmp_path), w, barrier, errors))
               for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [], "\n".join(errors)
    check_all_written(tmp_path, writers)


# ---- the pipeline: train_run ----------------------------------------------------------------

FAST = {"mlp": ({"width": 32}, {"epochs": 2, "lr": 0.01}),
        "cnn": ({"channels": 4}, {"epochs": 1}),
        "logreg": ({"max_iter": 100}, {}),
        "tfidf": ({"max_iter": 100}, {}),
        "boe": ({"embed_dim": 16, "width": 16}, {"epochs": 1}),
        "fasttext": ({"embed_dim": 16}, {"epochs": 1}),
        "textcnn": ({"embed_dim": 16, "channels": 16}, {"epochs": 1}),
        "gru": ({"embed_dim": 16, "hidden": 16}, {"epochs": 1}),
        "lstm": ({"embed_dim": 16, "hidden": 16}, {"epochs": 1}),
        "transformer": ({"n_layers": 1, "width": 32}, {"epochs": 1}),
        "pooled-logreg": ({"max_iter": 100}, {}),
        "pooled-mlp": ({"width": 32}, {"epochs": 1}),
        "frame-gru": ({"hidden": 16}, {"epochs": 1})}
# Representation options per modality: the reviews are short sentences; few mel bands suffice.
FAST_FEATURES = {"image": {}, "text": {"max_len": 32}, "audio": {"n_mels": 16}}
PREPROCESSOR_KIND = {"image": "image_standardizer", "text": "text_tokenizer", "audio": "log_mel"}


def dataset_fixture(modality: str) -> str:
    """The conftest fixture holding DATASET_FOR[modality] loaded (spoken-digits: spoken_digits)."""
    return DATASET_FOR[modality].replace("-", "_")


def test_every_family_has_a_fast_setting():
    assert set(FAST) == set(CLASSIFIERS)
    assert set(FAST_FEATURES) == {modality_of(name) for name in CLASSIFIERS} == set(PREPROCESSOR_KIND)


def fast_config(family: str) -> RunConfig:
    modality = modality_of(family)
    return RunConfig.make(DATASET_FOR[modality], family, *FAST[family], features=FAST_FEATURES[modality])


@pytest.fixture(scope="module")
def fast_runs(tmp_path_factory, request):
    """family -> (store, run): each family's fast run, trained once for this module, on demand.

    Image families train on digits, text families on the made reviews, audio families on the
    spoken digits.
    """
    root = tmp_path_factory.mktemp("fast_runs")
    trained = {}

    def get(family: str) -> tuple[RunStore, Run]:
        if family not in trained:
            dataset = request.getfixturevalue(dataset_fixture(modality_of(family)))
            store = RunStore(root)
            trained[family] = store, train_run(fast_config(family), store, dataset=dataset)
        return trained[family]

    return get


def test_train_run_stores_and_second_call_does_not_train(tmp_path, digits):
    store = RunStore(tmp_path)
    config = RunConfig.make("digits", "mlp", *FAST["mlp"])
    calls = []
    run = train_run(config, store, dataset=digits, on_epoch=calls.append)
    assert len(calls) == 2 and run.status == "complete"
    assert run.metrics["epochs_run"] == 2 and run.metrics["accuracy"] > 0.8
    assert run.metrics["params"] == 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert run.test_proba.shape == (270, 10) and np.array_equal(run.y_test, digits.y_test)
    assert_same_run(store.get(config.run_id), run)

    again_calls = []
    again = train_run(config, store, dataset=digits, on_epoch=again_calls.append)
    assert again_calls == []
    assert_same_run(again, run)
    # Also without a dataset at hand: nothing is loaded or trained.
    assert train_run(config, RunStore(tmp_path), on_epoch=again_calls.append).run_id == run.run_id
    assert again_calls == []


def test_train_run_metrics_match_the_stored_probabilities(tmp_path, digits):
    run = train_run(RunConfig.make("digits", "mlp", *FAST["mlp"]), RunStore(tmp_path), dataset=digits)
    pred = run.test_proba.argmax(1)
    assert run.metrics["accuracy"] == pytest.approx((pred == digits.y_test).mean())
    np.testing.assert_allclose(run.test_proba.sum(1), 1, atol=1e-5)


def test_train_run_loads_the_dataset_itself(tmp_path):
    config = RunConfig.make("digits", "logreg", *FAST["logreg"], split_seed=2)
    run = train_run(config, RunStore(tmp_path))
    assert run.config.split_seed == 2 and run.metrics["accuracy"] > 0.9


def test_train_run_rejects_a_dataset_of_another_split(tmp_path, digits):
    config = RunConfig.make("digits", "mlp", *FAST["mlp"], split_seed=1)
    with pytest.raises(ValueError, match="does not match the config"):
        train_run(config, RunStore(tmp_path), dataset=digits)


def test_stopped_run_is_stored_as_stopped_and_retrained_later(tmp_path, digits):
    store = RunStore(tmp_path)
    config = RunConfig.make("digits", "mlp", {"width": 32}, {"epochs": 5})
    n_checks = []

    def stop_after_three_steps():
        n_checks.append(1)
        return len(n_checks) > 3

    stopped = train_run(config, store, dataset=digits, should_stop=stop_after_three_steps)
    assert stopped.status == "stopped" and stopped.history.stopped_by_user
    assert store.get(config.run_id).status == "stopped"
    calls = []
    complete = train_run(config, store, dataset=digits, on_epoch=calls.append)
    assert len(calls) >= 1 and complete.status == "complete"
    assert store.get(config.run_id).status == "complete" and len(store.list_runs()) == 1


@pytest.mark.parametrize("family", list(CLASSIFIERS))
def test_loaded_model_reproduces_the_stored_test_probabilities(fast_runs, request, family):
    store, run = fast_runs(family)
    modality = modality_of(family)
    dataset = request.getfixturevalue(dataset_fixture(modality))
    reloaded_run = RunStore(store.root).get(run.run_id)
    assert reloaded_run.status == "complete"
    assert reloaded_run.preprocessor["kind"] == PREPROCESSOR_KIND[modality]
    assert (reloaded_run.input_info.vocab_size > 0) == (modality == "text")
    model = load_model(reloaded_run, store)
    if isinstance(model, torch.nn.Module):
        assert not model.training
    X_test = preprocessor_from_state(reloaded_run.preprocessor).transform(dataset.X_test)
    assert X_test.shape[1:] == reloaded_run.input_info.shape
    proba = predict_proba(model, X_test, len(reloaded_run.class_names))
    np.testing.assert_array_equal(proba, reloaded_run.test_proba)


@pytest.mark.parametrize("family", [n for n, f in CLASSIFIERS.items() if f.kind == "torch"])
def test_stored_weights_fit_the_rebuilt_model(fast_runs, family):
    store, run = fast_runs(family)
    weights = store.load_weights(run.run_id)
    fresh = build_model(run.config, run.input_info, len(run.class_names)).state_dict()
    assert {k: v.shape for k, v in weights.items()} == {k: v.shape for k, v in fresh.items()}
    assert any(not torch.equal(weights[k], fresh[k]) for k in fresh)  # trained, not the init


def test_run_repr(tmp_path):
    run, _ = fake_run(0, 5)
    text = repr(run)
    assert run.run_id in text and "'digits'" in text and "accuracy=0.0500" in text


def test_listing_runs_reads_no_array_file_until_one_is_used(tmp_path, monkeypatch):
    from nnapps.store import runs as runs_module

    store = RunStore(tmp_path)
    made = [fake_run(0, i) for i in range(5)]
    for run, weights in made:
        store.put(run, weights)
    reads = []
    real = runs_module.load_arrays
    monkeypatch.setattr(runs_module, "load_arrays", lambda path: reads.append(path) or real(path))
    listed = store.list_runs()
    assert [r.metrics for r in listed] == [r.metrics for r, _ in made] and reads == []
    np.testing.assert_array_equal(listed[2].test_proba, made[2][0].test_proba)
    np.testing.assert_array_equal(listed[2].y_test, made[2][0].y_test)
    assert reads == [str(store.files / f"{made[2][0].run_id}.results.safetensors")]
    again = store.list_runs()[2]  # a rerun of the page: the same arrays, from the process's cache
    np.testing.assert_array_equal(again.test_proba, made[2][0].test_proba)
    assert len(reads) == 1


def test_a_run_stored_again_under_its_id_shows_its_new_arrays(tmp_path):
    store = RunStore(tmp_path)
    stopped, weights = fake_run(0, 1, status="stopped")
    store.put(stopped, weights)
    assert store.get(stopped.run_id).test_proba.shape == (7, 3)  # read, and cached
    complete, weights = fake_run(0, 1, status="complete")
    complete.test_proba = complete.test_proba[:, ::-1].copy()
    store.put(complete, weights)
    np.testing.assert_array_equal(store.get(complete.run_id).test_proba, complete.test_proba)
