"""Text data end to end: the registry's text datasets, uploads of CSV/TSV files, run configs that
check modality, and runs on text stored and reloaded."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnapps.data import DatasetUnavailable, dataset_specs, get_spec, load_dataset, newsgroups, uploads
from nnapps.data.dataset import RawData
from nnapps.features import FEATURE_SCHEMAS, TextTokenizer
from nnapps.models import InputInfo
from nnapps.training.pipeline import load_model, load_preprocessor, predict_proba, train_run
from nnapps.store.runs import RunConfig, RunStore

ROOT = Path(__file__).resolve().parents[1]
TEXT_DEFAULTS = FEATURE_SCHEMAS["text"].defaults()


def table_bytes(columns=("text", "label"), n_per_class=10, delimiter=",") -> bytes:
    """Short "good"/"bad" sentences labelled pos/neg; a "topic" column (phone/laptop) when asked."""
    lines = [delimiter.join(columns)]
    for i in range(n_per_class):
        for word, label in (("good", "pos"), ("bad", "neg")):
            cells = {"text": f"item {i} works really {word}", "label": label,
                     "topic": ("phone", "laptop")[i % 2]}
            lines.append(delimiter.join(cells[c] for c in columns))
    return ("\n".join(lines) + "\n").encode()


# ---- the registry -------------------------------------------------------------------------------


def test_text_datasets_are_registered():
    specs = dataset_specs()
    assert specs["reviews"].modality == "text" and specs["reviews"].origin == "made"
    assert specs["20newsgroups"].modality == "text" and specs["20newsgroups"].origin == "download"
    assert {s.modality for s in specs.values()} == {"image", "text", "audio"}


def test_a_chosen_set_of_newsgroups_is_a_text_dataset():
    spec = get_spec("20newsgroups:sci.space+rec.autos")  # a spec only: nothing is downloaded
    assert spec.name == "20newsgroups:sci.space+rec.autos"
    assert spec.modality == "text" and "sci.space, rec.autos" in spec.title
    assert get_spec("20newsgroups: sci.space + rec.autos").name == spec.name
    with pytest.raises(ValueError, match="needs 2 to 6 categories"):
        get_spec("20newsgroups:sci.space")
    with pytest.raises(ValueError, match="unknown 20 Newsgroups category 'sci.nope'"):
        get_spec("20newsgroups:sci.space+sci.nope")


def test_reviews_split(reviews):
    assert reviews.spec.modality == "text" and reviews.class_names == ["negative", "positive"]
    sizes, n = reviews.split_sizes(), len(reviews.y_train) + len(reviews.y_val) + len(reviews.y_test)
    assert n >= 1000 and abs(sizes["test"] - 0.15 * n) <= 1 and abs(sizes["val"] - 0.15 * n) <= 2
    assert reviews.X_train.dtype == object and all(isinstance(t, str) and t for t in reviews.X_test)


# ---- run configs check the modality -------------------------------------------------------------


@pytest.mark.parametrize("dataset, family, message", [
    ("reviews", "mlp", "model 'mlp' takes image data, not text (reviews)"),
    ("reviews", "cnn", "model 'cnn' takes image, audio data, not text (reviews)"),
    ("20newsgroups", "logreg", "model 'logreg' takes image data, not text (20newsgroups)"),
    ("digits", "gru", "model 'gru' takes text data, not image (digits)"),
    ("digits", "tfidf", "model 'tfidf' takes text data, not image (digits)"),
])
def test_config_rejects_a_family_of_another_modality(dataset, family, message):
    with pytest.raises(ValueError) as err:
        RunConfig.make(dataset, family)
    assert message in str(err.value)


@pytest.mark.parametrize("features, message", [
    ({"tokenizer": "char"}, "unknown hyperparameter(s) ['tokenizer']; valid: []"),
    ({"max_len": 16}, "unknown hyperparameter(s) ['max_len']"),
])
def test_image_data_takes_no_text_options(features, message):
    with pytest.raises(ValueError) as err:
        RunConfig.make("digits", "mlp", features=features)
    assert message in str(err.value)
    assert RunConfig.make("digits", "mlp").features == {}


def test_text_config_fills_and_checks_its_options():
    config = RunConfig.make("reviews", "gru", features={"max_len": "32", "tokenizer": "char"})
    assert config.features == {**TEXT_DEFAULTS, "max_len": 32, "tokenizer": "char"}
    assert config.label().endswith(" chars")
    words = RunConfig.make("reviews", "gru")
    assert words.features == TEXT_DEFAULTS and "chars" not in words.label()
    assert RunConfig.make("reviews", "gru", features=TEXT_DEFAULTS).run_id == words.run_id
    others = [RunConfig.make("reviews", "gru", features=f).run_id
              for f in ({"min_freq": 2}, {"vocab_size": 100}, {"max_len": 63})]
    assert len({words.run_id, config.run_id, *others}) == 5
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        RunConfig.make("reviews", "gru", features={"tokenizer": "bpe"})
    # A scikit-learn family drops the training loop's settings but keeps its representation.
    tfidf = RunConfig.make("reviews", "tfidf", train={"epochs": 3}, features={"max_len": 16})
    assert tfidf.train == {"seed": 0} and tfidf.features["max_len"] == 16


def test_modality_may_be_given_for_data_the_registry_does_not_know():
    with pytest.raises(ValueError, match="unknown dataset 'my-texts'"):
        RunConfig.make("my-texts", "gru")
    assert RunConfig.make("my-texts", "gru", modality="text").dataset == "my-texts"
    with pytest.raises(ValueError, match="model 'gru' takes text data, not image"):
        RunConfig.make("my-texts", "gru", modality="image")


def test_train_run_rejects_data_of_another_modality(tmp_path, digits):
    config = RunConfig.make("digits", "gru", modality="text")  # told wrong; the data says image
    with pytest.raises(ValueError, match=r"model 'gru' takes \('text',\) data, not 'image' \(digits\)"):
        train_run(config, RunStore(tmp_path), dataset=digits)


# ---- runs on text -------------------------------------------------------------------------------


@pytest.mark.parametrize("family, hparams, train, features", [
    ("tfidf", {}, {}, {}),
    ("gru", {"embed_dim": 16, "hidden": 16}, {"epochs": 2}, {"max_len": 32}),
    ("textcnn", {"embed_dim": 16, "channels": 16}, {"epochs": 1}, {"tokenizer": "char", "max_len": 48,
                                                                    "vocab_size": 60}),
], ids=["tfidf", "gru-words", "textcnn-chars"])
def test_a_stored_text_run_reproduces_its_test_probabilities(tmp_path, reviews, family, hparams,
                                                              train, features):
    config = RunConfig.make("reviews", family, hparams, train, features=features)
    run = train_run(config, RunStore(tmp_path), dataset=reviews)
    assert run.status == "complete" and run.test_proba.shape == (len(reviews.y_test), 2)
    state = run.preprocessor
    assert state["kind"] == "text_tokenizer"
    assert (state["level"], state["max_len"]) == (config.features["tokenizer"], config.features["max_len"])
    assert run.input_info == InputInfo((config.features["max_len"],), vocab_size=len(state["vocab"]))
    assert len(state["vocab"]) <= config.features["vocab_size"]

    store = RunStore(tmp_path)  # as another process would open it
    reloaded = store.get(run.run_id)
    assert reloaded.preprocessor == state and reloaded.input_info == run.input_info
    tokenizer = load_preprocessor(reloaded)
    assert isinstance(tokenizer, TextTokenizer)
    model = load_model(reloaded, store)
    proba = predict_proba(model, tokenizer.transform(reviews.X_test), 2)
    np.testing.assert_allclose(proba, reloaded.test_proba, atol=1e-6, rtol=0)
    assert run.metrics["accuracy"] == pytest.approx((proba.argmax(1) == reviews.y_test).mean())

    # A person's own sentences go through the same tokenizer, unknown words and all.
    own = tokenizer.transform(["The battery is great!", "", "Zxqv flibber 日本語 🙂"])
    own_proba = predict_proba(model, own, 2)
    assert own_proba.shape == (3, 2) and np.isfinite(own_proba).all()
    np.testing.assert_allclose(own_proba.sum(1), 1, atol=1e-5)


def fake_newsgroups(categories, seed=0, progress=None):
    """Forty short posts in the asked categories, instead of the 14 MB download."""
    X = np.empty(40, dtype=object)
    X[:] = [f"a post about {categories[i % len(categories)].split('.')[-1]} number {i}" for i in range(40)]
    return RawData(X=X, y=np.arange(40) % len(categories), class_names=list(categories))


def test_train_run_on_chosen_newsgroups(tmp_path, monkeypatch):
    monkeypatch.setattr(newsgroups, "load_newsgroups", fake_newsgroups)
    run = train_run(RunConfig.make("20newsgroups:sci.space+rec.autos", "tfidf"), RunStore(tmp_path))
    assert run.class_names == ["sci.space", "rec.autos"] and run.metrics["accuracy"] == 1.0


@pytest.mark.parametrize("name", [
    "20newsgroups: sci.space + rec.autos",
    "20newsgroups:comp.graphics+rec.sport.hockey+sci.space+talk.politics.mideast",
    "csv path",
])
def test_train_run_accepts_every_name_its_config_accepted(tmp_path, monkeypatch, name):
    monkeypatch.setattr(newsgroups, "load_newsgroups", fake_newsgroups)
    if name == "csv path":  # a path is for the command line, which stores it and names it (issue 16)
        (tmp_path / "mine.csv").write_bytes(table_bytes())
        name = uploads.store_path(tmp_path / "mine.csv").name
    config = RunConfig.make(name, "tfidf")
    assert train_run(config, RunStore(tmp_path)).status == "complete"


# ---- uploads ------------------------------------------------------------------------------------


def test_a_csv_upload_is_a_text_dataset():
    data = table_bytes()
    spec = uploads.store_upload(data, "sentiment.csv")
    assert spec.name.startswith("user-") and spec.modality == "text" and spec.origin == "upload"
    assert spec.title == "sentiment.csv (yours)" and "20 texts in 2 classes (neg, pos)" in spec.description
    assert uploads.store_upload(data, "again.csv").name == spec.name  # same bytes, same dataset
    assert spec.name in {s.name for s in uploads.stored_specs()}
    assert dataset_specs()[spec.name].modality == "text"
    dataset = load_dataset(spec.name, 0)
    assert dataset.class_names == ["neg", "pos"] and sum(dataset.split_sizes().values()) == 20
    assert dataset.X_train.dtype == object and all("works really" in t for t in dataset.X_train)


def test_chosen_columns_are_part_of_the_dataset():
    data = table_bytes(("text", "label", "topic"))
    by_label = uploads.store_upload(data, "wide.csv", text_column="text", label_column="label")
    by_topic = uploads.store_upload(data, "wide.csv", text_column="text", label_column="topic")
    assert by_label.name != by_topic.name
    assert load_dataset(by_label.name).class_names == ["neg", "pos"]
    assert load_dataset(by_topic.name).class_names == ["laptop", "phone"]
    assert {by_label.name, by_topic.name} <= {s.name for s in uploads.stored_specs()}


@pytest.mark.slow
def test_an_upload_is_still_there_for_a_new_process():
    """A new process (the app restarted, or the command line) lists and loads the upload."""
    spec = uploads.store_upload(table_bytes(), "sentiment.csv")
    script = ("import json; from nnapps.data import dataset_specs, load_dataset; "
              f"specs = dataset_specs(); d = load_dataset({spec.name!r}); "
              f"print(json.dumps([specs[{spec.name!r}].modality, d.class_names, d.split_sizes()]))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    modality, class_names, sizes = json.loads(out.stdout)
    assert modality == "text" and class_names == ["neg", "pos"] and sum(sizes.values()) == 20


@pytest.mark.parametrize("filename", ["reviews.tsv", "reviews.txt", "REVIEWS.TSV"])
def test_tab_separated_uploads(filename):
    spec = uploads.store_upload(table_bytes(delimiter="\t"), filename)
    assert spec.modality == "text"
    dataset = load_dataset(spec.name)
    assert dataset.class_names == ["neg", "pos"] and sum(dataset.split_sizes().values()) == 20


def test_store_path_takes_a_csv_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(table_bytes(("label", "topic", "text")))
    spec = uploads.store_path(path, label_column="topic")
    assert load_dataset(spec.name).class_names == ["laptop", "phone"]
    with pytest.raises(ValueError, match="unknown dataset"):  # a name, never a path (issue 16)
        get_spec(str(path))


@pytest.mark.parametrize("filename", ["notes.pdf", "texts", "data.json"])
def test_an_unsupported_file_is_refused_with_a_clear_message(filename):
    with pytest.raises(DatasetUnavailable) as err:
        uploads.store_upload(table_bytes(), filename)
    message = str(err.value)
    assert message.startswith(f"{filename}: expected") and ".zip" in message and ".csv/.tsv" in message
    assert uploads.stored_specs() == []


def test_an_unusable_csv_is_refused_and_not_stored():
    with pytest.raises(DatasetUnavailable, match="found 1 class"):
        uploads.store_upload(b"text,label\nhello there,a\nhi again,a\n", "one-class.csv")
    with pytest.raises(DatasetUnavailable, match="no column named 'body'"):
        uploads.store_upload(table_bytes(), "t.csv", text_column="body")
    assert uploads.stored_specs() == []


def test_text_runs_start_from_text_training_defaults():
    text = RunConfig.make("reviews", "gru")
    image = RunConfig.make("digits", "mlp")
    assert text.train["lr"] == 3e-3 and image.train["lr"] == 1e-3
    assert RunConfig.make("reviews", "gru", train={"lr": 1e-3}).train["lr"] == 1e-3
