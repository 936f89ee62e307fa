"""The Streamlit pages, run in-process with AppTest (no browser).

Every test gets its own NNAPPS_HOME and NNAPPS_DATA_DIR under tmp_path and fresh Streamlit
caches, so the process-wide run store and job queue (st.cache_resource) start empty. Training
goes on in the queue's threads between script runs; tests rerun the app until it is done.
"""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnapps.analysis.evaluation import FILTERS
from nnapps.examples import EXAMPLES, time_sentence
from nnapps.training.pipeline import train_run
from nnapps.store.runs import EVERYONE, RunConfig, RunStore
from nnapps.ui import services, state
from page_helpers import (APP, POLL_TIMEOUT, ROOT, RUN_TIMEOUT, assert_ok, button, chart_specs, chart_titles,
                          image_zip, job_snapshots, open_page, page_html, poll, progress_texts, read, texts,
                          train_two_digits_runs, checked, upload)

PAGES = ("pages/home.py", "pages/data.py", "pages/train.py", "pages/compare.py", "pages/playground.py",
         "pages/inside.py")
DIGITS_TEST_SIZE = 270

# Every test here gets its own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")


# --- every page ----------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_the_app(app, page):
    open_page(app, page)
    assert app.title, f"{page} shows no title"
    if page != "pages/home.py":  # every other page has the dataset picker in the sidebar
        assert app.sidebar.selectbox(key="dataset").value == "digits"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_its_own(page):
    """Run alone there is no navigation: page links fall back to plain text."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=RUN_TIMEOUT).run()
    assert_ok(at)
    assert at.title


def test_dataset_link_opens_the_named_dataset(app_navigation):
    """?dataset=NAME in the URL picks the sidebar's dataset, on any page it opens."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.query_params["dataset"] = "scattered-digits"
    at.run()
    open_page(at, "pages/data.py")
    assert at.sidebar.selectbox(key="dataset").value == "scattered-digits"
    assert texts(at.title) == ["Scattered digits (28x28, made)"]
    at.sidebar.selectbox(key="dataset").set_value("digits").run()
    assert_ok(at)
    assert at.query_params["dataset"] == "digits"


def test_deep_link_into_a_fresh_server_runs_through_app_py():
    """A first request for /compare?dataset=... (legacy pages/ mode) is handed to app.py."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.switch_page("pages/compare.py")  # before any run: like a deep link into a new server
    at.query_params["dataset"] = "scattered-digits"
    at.run()
    assert_ok(at)
    assert texts(at.title) == ["Compare"]
    assert texts(at.info) == ["No runs on Scattered digits (28x28, made) yet."]
    registered = getattr(at, "_registered_pages", None)  # AppTest internals: checked when there
    if registered:
        assert [p.get("page_name") for p in registered.values()] == ["Home", "Data", "Train", "Compare",
                                                                   "Sweeps", "Playground", "Inside", "GPT"]


def test_unknown_dataset_link_falls_back_to_digits(app_navigation):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.query_params["dataset"] = "no-such-data"
    at.run()
    open_page(at, "pages/data.py")
    assert at.sidebar.selectbox(key="dataset").value == "digits"
    assert any("no-such-data" in w for w in texts(at.sidebar.warning))


# --- Home ----------------------------------------------------------------------------------

def test_home_shows_intro_example_and_tables(app):
    assert_ok(app)
    assert texts(app.title) == ["nnapps"]
    assert button(app, "Train an MLP and a CNN on digits").proto.type == "primary"
    assert "Try it in one click" in texts(app.subheader)
    assert [p.proto.page for p in app.get("page_link")] == ["data", "train", "compare", "playground", "inside", "gpt"]
    datasets, models = app.dataframe
    assert {"digits", "scattered-digits", "mnist"} <= set(datasets.value["name"])
    assert {"logreg", "mlp", "cnn"} <= set(models.value["name"])


def test_every_home_card_says_its_measured_time(app):
    shown = texts(app.markdown)
    for example in EXAMPLES:
        assert any(example.text in m and time_sentence(example) in m for m in shown), example.label


@pytest.mark.slow
def test_home_example_trains_two_runs_and_opens_compare(app):
    button(app, "Train an MLP and a CNN on digits").click().run()
    assert_ok(app)
    assert texts(app.title) == ["Compare"]
    assert len(app.session_state[state.JOBS]) == 2
    assert app.session_state[state.DATASET] == "digits"

    store = services.get_store()
    poll(app, lambda at: len([r for r in store.list_runs("digits") if r.status == "complete"]) == 2
         and all(j.finished for j in job_snapshots(at)), "the example's two runs")
    runs = store.list_runs("digits")
    assert sorted(r.config.family for r in runs) == ["cnn", "mlp"]
    assert all(j.state == "done" for j in job_snapshots(app))
    app.run()
    # Both runs are compared, also the one stored after the page first showed the other.
    assert sorted(app.multiselect(key="compare_runs").value) == sorted(r.run_id for r in runs)
    labels = {r.label for r in runs}
    assert labels <= set(chart_titles(app))


@pytest.mark.slow
def test_home_example_on_its_own_reruns_instead_of_switching():
    at = AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=RUN_TIMEOUT).run()
    button(at, "Train an MLP and a CNN on digits").click().run()
    assert_ok(at)
    assert texts(at.title) == ["nnapps"]
    ids = at.session_state[state.JOBS]
    assert len(ids) == 2
    jobs = services.get_queue().wait(ids, timeout=POLL_TIMEOUT)
    assert [j.state for j in jobs] == ["done", "done"]
    assert len(services.get_store().list_runs("digits")) == 2


# --- Data ----------------------------------------------------------------------------------

def test_data_page_digits(app):
    open_page(app, "pages/data.py")
    assert texts(app.title) == ["Digits (8x8)"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Classes": "10", "Train": "1,257", "Validation": "270", "Test": "270",
                       "Input": "1 x 8 x 8"}
    assert "Class balance" in chart_titles(app)
    # one row of example images per class, eight images each
    assert len(app.image) == 10
    assert all(len(img.value) == 8 for img in app.image)
    assert not app.info


def test_data_page_switches_dataset(app):
    open_page(app, "pages/data.py")
    app.selectbox(key="dataset").set_value("scattered-digits").run()
    assert_ok(app)
    assert texts(app.title) == ["Scattered digits (28x28, made)"]
    assert any("Made by nnapps" in m for m in texts(app.markdown))
    assert {m.label: m.value for m in app.metric}["Input"] == "1 x 28 x 28"


def test_data_page_offers_download_of_an_uncached_dataset(app):
    open_page(app, "pages/data.py")
    app.selectbox(key="dataset").set_value("mnist").run()
    assert_ok(app)
    assert texts(app.title) == ["MNIST (28x28 digits)"]
    assert any("not on this machine yet" in i for i in texts(app.info))
    assert [read(b.label) for b in app.button] == ["Download MNIST (28x28 digits)"]
    assert not app.metric  # the page stops before loading anything
    assert not app.error


def test_data_page_rejects_a_bad_upload(app):
    open_page(app, "pages/data.py")
    upload(app, "bad.zip", b"not a zip")
    assert_ok(app)
    errors = texts(app.error)
    assert len(errors) == 1 and errors[0].startswith("bad.zip could not be used")
    assert "not a zip archive" in errors[0]


@pytest.mark.slow
def test_data_page_stores_and_opens_an_upload(app):
    open_page(app, "pages/data.py")
    upload(app, "pets.zip", image_zip())
    assert_ok(app)
    assert not app.error
    assert any("Stored pets.zip" in s for s in texts(app.success))
    button(app, "Open pets.zip (yours)").click().run()
    assert_ok(app)
    assert texts(app.title) == ["pets.zip (yours)"]
    assert app.selectbox(key="dataset").value.startswith("user-")
    assert {m.label: m.value for m in app.metric}["Classes"] == "2"


# --- Train ---------------------------------------------------------------------------------

def test_train_page_default_slots(app):
    open_page(app, "pages/train.py")
    assert texts(app.title) == ["Train"]
    assert app.selectbox(key="slot1_image_family").value == "mlp"
    assert app.selectbox(key="slot2_image_family").value == "cnn"
    assert app.number_input(key="slot1_image_mlp_width").value == 128
    assert app.number_input(key="slot2_image_cnn_channels").value == 16
    assert not button(app, "Train 2 models").disabled
    assert [b.key for b in app.button if b.label == "Remove"] == ["slot1_remove", "slot2_remove"]
    assert not app.get("progress")


def test_train_page_words_and_momentum_only_for_sgd(app):
    open_page(app, "pages/train.py")
    assert app.select_slider(key="train_image_lr").label == "Learning rate (lr)"
    assert "`lr`" in app.select_slider(key="train_image_lr").help
    assert not [w for w in app.number_input if w.key == "train_image_momentum"]  # Adam: no momentum
    app.selectbox(key="train_image_optimizer").set_value("sgd").run()
    assert_ok(app)
    assert app.number_input(key="train_image_momentum").label == "Momentum"


def test_train_page_adds_and_removes_slots(app):
    open_page(app, "pages/train.py")
    button(app, "Add an architecture").click().run()
    assert_ok(app)
    assert {s.key for s in app.selectbox if s.key and s.key.endswith("_family")} == {
        "slot1_image_family", "slot2_image_family", "slot3_image_family"}
    assert app.selectbox(key="slot3_image_family").value == "logreg"
    assert button(app, "Train 3 models")
    app.button(key="slot3_remove").click().run()
    assert_ok(app)
    assert button(app, "Train 2 models")
    app.button(key="slot2_remove").click().run()
    assert_ok(app)
    assert button(app, "Train 1 model")
    assert not [b for b in app.button if b.label == "Remove"]  # the last slot stays


@pytest.mark.slow
def test_train_page_trains_with_the_chosen_settings(app):
    open_page(app, "pages/train.py")
    app.number_input(key="train_image_epochs").set_value(2)
    app.number_input(key="slot1_image_mlp_width").set_value(32)
    button(app, "Train 2 models").click().run()
    assert_ok(app)
    assert len(app.session_state[state.JOBS]) == 2

    poll(app, lambda at: all(j.finished for j in job_snapshots(at)), "training to finish")
    app.run()
    assert_ok(app)
    assert [j.state for j in job_snapshots(app)] == ["done", "done"]
    assert any("2 of 2 finished" in m for m in texts(app.markdown))
    assert [p.value for p in app.get("progress")] == [100, 100]
    assert all("test accuracy" in t for t in progress_texts(app))
    assert "Compare these runs" in [p.proto.label for p in app.get("page_link")]
    assert not button(app, "Train 2 models").disabled
    assert {"Loss per epoch", "Accuracy per epoch"} <= set(chart_titles(app))

    runs = {r.config.family: r for r in services.get_store().list_runs("digits")}
    assert set(runs) == {"mlp", "cnn"}
    assert all(r.status == "complete" and r.config.train["epochs"] == 2 for r in runs.values())
    assert runs["mlp"].config.hparams["width"] == 32
    assert runs["mlp"].metrics["epochs_run"] == 2


@pytest.mark.slow
def test_train_page_stop(app):
    open_page(app, "pages/train.py")
    app.selectbox(key="dataset").set_value("scattered-digits").run()
    assert_ok(app)
    app.number_input(key="train_image_epochs").set_value(200)
    app.number_input(key="train_image_patience").set_value(0).run()
    estimate = [c.value for c in app.caption if c.value.startswith("Time on this machine")]
    assert len(estimate) == 1 and estimate[0].count("x 200 epochs") == 2  # the MLP's and the CNN's
    button(app, "Train 2 models").click().run()
    assert_ok(app)
    assert button(app, "Train 2 models").disabled  # busy while this session trains
    assert not [c for c in app.caption if c.value.startswith("Time on this machine")]

    # Stop once every job has trained at least one epoch and says how long it has left.
    poll(app, lambda at: all(j.epochs for j in job_snapshots(at))
         and all(t.endswith(" left") for t in progress_texts(at)), "the first epochs")
    assert not any(j.finished for j in job_snapshots(app))
    app.button(key="stop_training").click().run()
    assert_ok(app)
    poll(app, lambda at: all(j.finished for j in job_snapshots(at)), "the jobs to stop")
    app.run()
    assert_ok(app)

    jobs = job_snapshots(app)
    assert [j.state for j in jobs] == ["stopped", "stopped"]
    assert all(t.endswith("(stopped)") for t in progress_texts(app))
    assert not [b for b in app.button if b.key == "stop_training"]
    runs = services.get_store().list_runs("scattered-digits")
    assert len(runs) == 2
    assert all(r.status == "stopped" for r in runs)
    assert all(0 < r.metrics["epochs_run"] < 200 for r in runs)


# --- Compare -------------------------------------------------------------------------------

def test_compare_page_without_runs(app):
    open_page(app, "pages/compare.py")
    assert texts(app.title) == ["Compare"]
    assert texts(app.info) == ["No runs on Digits (8x8) yet."]
    assert [p.proto.label for p in app.get("page_link")] == ["Train some models"]
    assert not app.dataframe


@pytest.fixture
def compare(app):
    """The Compare page with an MLP and a CNN trained on digits."""
    runs = train_two_digits_runs()
    open_page(app, "pages/compare.py")
    return app, runs


def test_compare_page_shows_both_runs(compare):
    at, runs = compare
    labels = [r.label for r in runs]
    assert texts(at.subheader) == ["Metrics on the test split", "Training curves",
                                   "Confusion matrices", "Calibration", "Agreement map", "Every test sample"]
    assert at.multiselect(key="compare_runs").value == [r.run_id for r in runs]

    metrics = at.dataframe[0].value
    assert list(metrics["run"]) == labels
    assert list(metrics["epochs"]) == [2, 2]
    assert list(metrics["status"]) == ["complete", "complete"]

    titles = chart_titles(at)
    assert {"Loss per epoch", "Accuracy per epoch"} <= set(titles)
    assert [t for t in titles if t in labels] == labels  # one confusion matrix per run

    probabilities = at.dataframe(key="prob_table").value
    assert len(probabilities) == min(DIGITS_TEST_SIZE, 500)
    assert list(probabilities.columns) == ["image", "#", "true"] + [
        c for label in labels for c in (label, f"{label} p")]
    assert any(c.startswith("270 of 270 test samples") for c in texts(at.caption))
    assert "Predicted probability for every class" in titles


def test_compare_page_adds_runs_stored_while_it_is_open(app):
    store = RunStore()
    first = train_run(RunConfig.make("digits", "mlp", train={"epochs": 1}), store)
    open_page(app, "pages/compare.py")
    assert app.multiselect(key="compare_runs").value == [first.run_id]
    second = train_run(RunConfig.make("digits", "cnn", train={"epochs": 1}), store)
    app.run()
    assert_ok(app)
    assert app.multiselect(key="compare_runs").value == [first.run_id, second.run_id]
    # A run the user took out stays out when another one arrives.
    app.multiselect(key="compare_runs").set_value([second.run_id]).run()
    third = train_run(RunConfig.make("digits", "logreg"), store)
    app.run()
    assert_ok(app)
    assert app.multiselect(key="compare_runs").value == [second.run_id, third.run_id]


def test_compare_page_normalised_confusion(compare):
    at, runs = compare
    labels = {r.label for r in runs}

    def confusion_text_formats():
        return [spec["layer"][1]["encoding"]["text"]["format"]
                for spec in chart_specs(at) if spec.get("title") in labels]

    assert confusion_text_formats() == ["d", "d"]
    at.segmented_control(key="cm_mode").set_value("Normalised").run()
    assert_ok(at)
    assert confusion_text_formats() == [".0%", ".0%"]


def test_compare_page_filters(compare):
    at, runs = compare
    labels = [r.label for r in runs]
    for how in FILTERS:
        at.segmented_control(key="prob_filter").set_value(how).run()
        assert_ok(at)
        count = next(c for c in texts(at.caption) if "test samples" in c)
        n_shown = int(count.split(" of ")[0].replace(",", ""))
        if n_shown:
            assert len(at.dataframe(key="prob_table").value) == min(n_shown, 500)
        else:
            assert "No sample matches this filter." in texts(at.info)
        if how == "A right, B wrong":
            assert at.selectbox(key="filter_a").value == labels[0]
            assert at.selectbox(key="filter_b").value == labels[1]
            at.selectbox(key="filter_a").set_value(labels[1]).run()
            at.selectbox(key="filter_b").set_value(labels[0]).run()
            assert_ok(at)
        else:
            assert not [s for s in at.selectbox if s.key in ("filter_a", "filter_b")]


@pytest.mark.slow
def test_compare_page_deletes_a_run(compare):
    at, runs = compare
    store = services.get_store()
    doomed, kept = runs
    # The visitor's own run is offered for deletion; the example everyone shares is not.
    store.claim(doomed.run_id, at.session_state["visitor"])
    store.disown(doomed.run_id, EVERYONE)
    at.run()
    assert button(at, "Delete").disabled
    assert at.multiselect(key="delete_runs").options == [doomed.label]
    assert "You keep 1 run on this copy" in " ".join(texts(at.caption))
    at.multiselect(key="delete_runs").set_value([doomed.run_id]).run()
    assert_ok(at)
    button(at, "Delete").click().run()
    assert_ok(at)
    assert store.get(doomed.run_id) is None
    assert [r.run_id for r in store.list_runs("digits")] == [kept.run_id]
    assert at.multiselect(key="compare_runs").value == [kept.run_id]
    assert list(at.dataframe[0].value["run"]) == [kept.label]
    # one run has nothing to disagree with: its filter shows all of it, or where it is wrong
    shown = at.segmented_control(key="prob_filter")
    assert shown.value == "all" and [str(o) for o in shown.options] == ["all", "wrong"]
    shown.set_value("all wrong").run()
    assert_ok(at)
    wrong = int((kept.test_proba.argmax(1) != kept.y_test).sum())
    assert f"{wrong:,} of {len(kept.y_test):,} test samples" in " ".join(texts(at.caption))


# --- text -----------------------------------------------------------------------------------

def open_dataset(at: AppTest, page: str, dataset: str) -> AppTest:
    open_page(at, page)
    at.selectbox(key=state.DATASET).set_value(dataset).run()
    assert_ok(at)
    return at


def test_data_page_text_dataset(app):
    open_dataset(app, "pages/data.py", "reviews")
    assert app.title[0].value.startswith("Reviews")
    assert {"Class balance", "Text length"} <= set(chart_titles(app))
    examples = app.dataframe[-1].value
    assert list(examples.columns) == ["class", "text"] and len(examples) == 10
    assert set(examples["class"]) == {"negative", "positive"}


def test_data_page_asks_for_columns_of_an_ambiguous_csv(app):
    open_page(app, "pages/data.py")
    rows = ["id,review,rating,stars"] + [f"{i},{t},{label},{i % 5}" for i, (t, label) in enumerate(
        [("not bad at all", "good"), ("awful phone", "bad"), ("great screen", "good"), ("it broke", "bad")] * 3)]
    upload(app, "mine.csv", "\n".join(rows).encode(), "text/csv")
    assert_ok(app)
    assert app.selectbox(key="upload_text_column").value == "review"
    app.selectbox(key="upload_label_column").set_value("rating").run()
    checked(app)  # other columns, another dataset: checked again
    assert not app.error, texts(app.error)
    button(app, "Open mine.csv (yours)").click().run()
    assert_ok(app)
    assert texts(app.title)[0] == "mine.csv (yours)"
    assert "2 classes (bad, good)" in " ".join(texts(app.markdown))


@pytest.mark.slow
def test_train_page_trains_text_models(app):
    open_dataset(app, "pages/train.py", "reviews")
    assert app.selectbox(key="slot1_text_family").value == "boe"
    assert app.selectbox(key="slot2_text_family").value == "gru"
    assert app.selectbox(key="features_text_tokenizer").value == "word"
    assert app.select_slider(key="train_text_lr").value == 3e-3  # text's own starting value
    app.number_input(key="train_text_epochs").set_value(1)
    app.number_input(key="features_text_max_len").set_value(32)
    button(app, "Train 2 models").click().run()
    poll(app, lambda at: all(j.finished for j in job_snapshots(at)), "text training to finish")
    assert [j.state for j in job_snapshots(app)] == ["done", "done"]
    runs = {r.config.family: r for r in services.get_store().list_runs("reviews")}
    assert set(runs) == {"boe", "gru"}
    assert all(r.config.features["max_len"] == 32 and r.preprocessor["kind"] == "text_tokenizer"
               for r in runs.values())


def test_compare_page_shows_texts_and_word_effects(app):
    store = RunStore()
    for family in ("tfidf", "gru"):
        train_run(RunConfig.make("reviews", family, train={"epochs": 1}), store)
    open_dataset(app, "pages/compare.py", "reviews")
    table = app.dataframe[-1].value
    assert "text" in table.columns and "image" not in table.columns
    assert all(isinstance(t, str) and t for t in table["text"])
    assert len(table) == 500  # capped: the reviews test split holds 600
    highlighted = page_html(app)
    assert len(highlighted) == 2 and all("<span" in body for body in highlighted)
    first_words = table["text"].iloc[0].split()[:2]
    assert all(word.split("'")[0] in highlighted[0] for word in first_words)


@pytest.mark.slow
def test_home_text_example_queues_a_bag_of_words_and_a_gru_on_reviews(app):
    button(app, "Train TF-IDF and a GRU on reviews").click().run()
    assert_ok(app)
    assert texts(app.title) == ["Compare"]
    assert app.session_state[state.DATASET] == "reviews"
    jobs = job_snapshots(app)
    assert sorted(j.config.family for j in jobs) == ["gru", "tfidf"]
    assert all(j.config.dataset == "reviews" and j.config.train.get("seed") == 0 for j in jobs)
    # The GRU takes half a minute; the baseline alone shows the page compares text runs.
    poll(app, lambda at: any(r.config.family == "tfidf" for r in services.get_store().list_runs("reviews")),
         "the baseline run")
    # The run may be stored just after that rerun drew the page: wait for the page to show it.
    poll(app, lambda at: len(at.dataframe) > 0, "the baseline run on the page")
    assert "text" in app.dataframe[-1].value.columns


# --- Audio ---------------------------------------------------------------------------------

def sounds_zip(silent: str | None = None, per_class: int = 3) -> bytes:
    """Two classes of one-second tones (low and high) as WAV files; silent names one to mute."""
    import soundfile as sf
    buf = io.BytesIO()
    t = np.arange(8000) / 8000
    with zipfile.ZipFile(buf, "w") as archive:
        for name, hz in (("low", 220), ("high", 1760)):
            for i in range(per_class):
                path = f"{name}/{i}.wav"
                wave = np.zeros_like(t) if path == silent else 0.3 * np.sin(2 * np.pi * hz * (1 + i / 20) * t)
                wav = io.BytesIO()
                sf.write(wav, wave, 8000, format="WAV")
                archive.writestr(path, wav.getvalue())
    return buf.getvalue()


def audio_players(at: AppTest) -> list:
    return at.get("audio")


def test_data_page_audio_dataset(app):
    open_dataset(app, "pages/data.py", "spoken-digits")
    assert texts(app.title) == ["Spoken digits (made with espeak-ng)"]
    assert "espeak-ng" in " ".join(texts(app.markdown))
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Clip length"] == "1.0 s" and metrics["Test"] == "600" and metrics["Classes"] == "10"
    # three sounds per class, each a spectrogram picture and a player
    assert len(app.image) == 30 and len(audio_players(app)) == 30
    assert all(p.proto.url for p in audio_players(app))  # each player has its WAV to fetch
    assert any("never heard in training" in c for c in texts(app.caption))


@pytest.mark.slow
def test_data_page_stores_a_sounds_upload(app):
    open_page(app, "pages/data.py")
    upload(app, "tones.zip", sounds_zip())
    assert_ok(app)
    assert not app.error, texts(app.error)
    assert any("Stored tones.zip" in s and "6 sounds in 2 classes" in s for s in texts(app.success))
    button(app, "Open tones.zip (yours)").click().run()
    assert_ok(app)
    assert texts(app.title) == ["tones.zip (yours)"]
    assert {m.label: m.value for m in app.metric}["Clip length"] == "1.0 s"
    assert len(audio_players(app)) >= 2


def test_data_page_names_a_silent_sound(app):
    open_page(app, "pages/data.py")
    upload(app, "tones.zip", sounds_zip(silent="high/1.wav"))
    assert_ok(app)
    errors = texts(app.error)
    assert len(errors) == 1 and "high/1.wav is silent" in errors[0]


@pytest.mark.slow
def test_train_page_trains_audio_models(app):
    open_dataset(app, "pages/train.py", "spoken-digits")
    assert app.selectbox(key="slot1_audio_family").value == "pooled-mlp"
    assert app.selectbox(key="slot2_audio_family").value == "cnn"
    # the CNN starts from its settings for sounds, not for images
    assert app.number_input(key="slot2_audio_cnn_n_blocks").value == 4
    assert app.toggle(key="slot2_audio_cnn_batch_norm").value is True
    assert app.number_input(key="features_audio_hop_ms").value == 16.0
    app.number_input(key="train_audio_epochs").set_value(1)
    app.number_input(key="features_audio_n_mels").set_value(16)
    app.number_input(key="slot2_audio_cnn_n_blocks").set_value(2)
    button(app, "Train 2 models").click().run()
    poll(app, lambda at: all(j.finished for j in job_snapshots(at)), "audio training to finish")
    assert [j.state for j in job_snapshots(app)] == ["done", "done"]
    runs = {r.config.family: r for r in services.get_store().list_runs("spoken-digits")}
    assert set(runs) == {"pooled-mlp", "cnn"}
    assert runs["cnn"].config.hparams["n_blocks"] == 2
    assert all(r.preprocessor["kind"] == "log_mel" and r.preprocessor["n_mels"] == 16 and
               r.input_info.shape == (1, 16, 63) for r in runs.values())


@pytest.mark.slow
def test_compare_page_lists_sounds_with_players(app):
    store = RunStore()
    for family in ("pooled-logreg", "pooled-mlp"):
        train_run(RunConfig.make("spoken-digits", family, train={"epochs": 1}, features={"n_mels": 16}), store)
    open_dataset(app, "pages/compare.py", "spoken-digits")
    # a page of eight test sounds, each with its spectrogram and player, then the details
    assert len(audio_players(app)) == 9 and len(app.image) == 9
    assert app.number_input(key="sound_page").label == "Page (of 75)"
    assert any("600 of 600 test samples" in c for c in texts(app.caption))
    assert "Test sample #0" in " ".join(texts(app.markdown))
    app.button(key="sound_details_3").click().run()
    assert_ok(app)
    assert "Test sample #3" in " ".join(texts(app.markdown))
    app.number_input(key="sound_page").set_value(2).run()
    assert_ok(app)
    assert {b.key for b in app.button if b.key and b.key.startswith("sound_details_")} == \
        {f"sound_details_{i}" for i in range(8, 16)}
    app.segmented_control(key="prob_filter").set_value("all wrong").run()
    assert_ok(app)
    caption = next(c for c in texts(app.caption) if "test samples" in c)
    wrong = sum(all(r.test_proba[i].argmax() != r.y_test[i] for r in store.list_runs("spoken-digits"))
                for i in range(600))
    assert caption.startswith(f"{wrong:,} of 600 test samples")


@pytest.mark.slow
def test_home_audio_example_queues_a_pooled_mlp_and_a_cnn_on_spoken_digits(app):
    button(app, "Train a pooled MLP and a CNN on spoken digits").click().run()
    assert_ok(app)
    assert texts(app.title) == ["Compare"]
    assert app.session_state[state.DATASET] == "spoken-digits"
    jobs = job_snapshots(app)
    assert sorted(j.config.family for j in jobs) == ["cnn", "pooled-mlp"]
    assert next(j for j in jobs if j.config.family == "cnn").config.hparams["head"] == "average"
    # The CNN takes most of a minute; the pooled MLP alone shows Compare listing sounds.
    poll(app, lambda at: any(r.config.family == "pooled-mlp"
                             for r in services.get_store().list_runs("spoken-digits")), "the pooled MLP")
    poll(app, lambda at: len(audio_players(at)) == 9, "the page of test sounds")


# --- Playground ----------------------------------------------------------------------------

def train_into_store(dataset: str, configs: list[tuple[str, dict]]) -> list:
    """Small runs trained directly into the test's NNAPPS_HOME, as the pages' store sees them."""
    store = RunStore()
    return [train_run(RunConfig.make(dataset, family, **kwargs), store) for family, kwargs in configs]


def playground_answers(at: AppTest, dataset: str, item) -> list[str]:
    """The class each chosen run predicts for a prepared item, in the page's order, recomputed
    here with the library (Predictor) rather than read from the page."""
    from nnapps.training.pipeline import Predictor
    from nnapps.analysis.playground import predict_all

    store = RunStore()
    runs = [store.get(i) for i in at.multiselect(key=f"playground_runs_{dataset}").value]
    probas = predict_all({r.run_id: Predictor(r, store) for r in runs}, item)
    return [r.class_names[int(np.argmax(probas[r.run_id]))] for r in runs]


def probability_charts(at: AppTest) -> list[dict]:
    """The Playground's probability bars (one per chosen run), not its other charts."""
    return [s for s in chart_specs(at) if s.get("encoding", {}).get("x", {}).get("field") == "probability"]


def digit_png(digits, index: int, size: int = 64) -> bytes:
    """A digits test image scaled up to size x size, as a PNG a person might upload."""
    pixels = np.round(digits.X_test[index][0] * 255).astype(np.uint8)
    picture = Image.fromarray(pixels).resize((size, size), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


@pytest.fixture
def digits_playground(app):
    """The Playground on digits with a logistic regression and a one-epoch MLP."""
    runs = train_into_store("digits", [("logreg", {}), ("mlp", {"hparams": {"width": 16},
                                                                "train": {"epochs": 1}})])
    open_page(app, "pages/playground.py")
    return app, runs


def upload_picture(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="playground_picture").set_value((name, data, "image/png")).run()
    assert_ok(at)
    return at


def test_playground_without_runs(app):
    open_page(app, "pages/playground.py")
    assert texts(app.title) == ["Playground"]
    assert texts(app.info) == ["No trained models on Digits (8x8) yet."]
    assert [p.proto.label for p in app.get("page_link")] == ["Train some models"]
    assert not app.multiselect and not app.metric


def test_playground_image_upload(digits_playground):
    from nnapps.data import load_dataset
    from nnapps.analysis.playground import ImageTarget, picture_pixels, prepare_image

    at, runs = digits_playground
    assert texts(at.title) == ["Playground"]
    # At first the best run of each family: here both runs.
    assert sorted(at.multiselect(key="playground_runs_digits").value) == sorted(r.run_id for r in runs)
    # Drawing needs the canvas component, which AppTest cannot drive: the page waits for a stroke.
    assert at.segmented_control(key="playground_image_input").value == "Draw"
    assert any(i.startswith("Draw a digit") for i in texts(at.info))
    assert not at.metric and not probability_charts(at)

    at.segmented_control(key="playground_image_input").set_value("Upload a picture").run()
    assert_ok(at)
    assert not at.metric
    digits = load_dataset("digits", 0)
    png = digit_png(digits, 3)
    upload_picture(at, "three.png", png)
    assert not at.error, texts(at.error)
    assert "**What the models see**" in texts(at.markdown)
    assert any(c.startswith("8 x 8 pixels: cropped to the ink") for c in texts(at.caption))
    assert len(at.image) == 2  # the upload as it is and the 8 x 8 item the models see

    item = prepare_image(picture_pixels(png, "three.png"), ImageTarget.of(digits.X_train))
    answers = playground_answers(at, "digits", item)
    assert [m.value for m in at.metric] == answers
    assert [m.label for m in at.metric] == ["prediction", "prediction"]
    assert all(m.delta.endswith("% sure") for m in at.metric)
    assert len(probability_charts(at)) == 2
    assert "What each model says" in texts(at.subheader)
    verdict = "All models agree." if len(set(answers)) == 1 else "**The models disagree.**"
    assert any(verdict in m for m in texts(at.markdown))

    # Taking a run out leaves one answer and one chart.
    at.multiselect(key="playground_runs_digits").set_value([runs[0].run_id]).run()
    assert_ok(at)
    assert len(at.metric) == 1 and len(probability_charts(at)) == 1
    assert [m.value for m in at.metric] == playground_answers(at, "digits", item)


def test_playground_refuses_a_corrupt_picture_and_keeps_the_last_results(digits_playground):
    at, runs = digits_playground
    at.segmented_control(key="playground_image_input").set_value("Upload a picture").run()

    upload_picture(at, "broken.png", b"\x89PNG but not a picture")
    assert texts(at.error) == ["broken.png is not a readable PNG or JPEG image"]
    assert not at.metric and not probability_charts(at)

    from nnapps.data import load_dataset
    upload_picture(at, "seven.png", digit_png(load_dataset("digits", 0), 7))
    assert not at.error
    answers = [m.value for m in at.metric]
    assert len(answers) == 2 and len(probability_charts(at)) == 2

    upload_picture(at, "broken.png", b"not a picture either")
    assert texts(at.error) == ["broken.png is not a readable PNG or JPEG image"]
    assert "Below: the results for your last input that worked." in texts(at.caption)
    assert [m.value for m in at.metric] == answers
    assert len(probability_charts(at)) == 2


@pytest.mark.slow
def test_playground_sends_its_sentence_to_inside_and_shows_a_grus_memory(app):
    """Look inside with this sentence: Inside's forward pass runs on the Playground's text and
    its softmax is the model's own probabilities for it."""
    from nnapps.training.pipeline import Predictor
    from nnapps.analysis.playground import as_batch

    tfidf, gru = train_into_store("reviews", [("tfidf", {}), ("gru", {"hparams": {"hidden": 8},
                                                                       "train": {"epochs": 1}})])
    open_dataset(app, "pages/playground.py", "reviews")
    text = "the screen is far from perfect, but the battery never lets me down"
    app.text_input(key="playground_text").set_value(text).run()
    assert_ok(app)
    # The GRU's memory word by word: one chart of two parts, one column per word read.
    assert "Word by word" in texts(app.subheader)
    memory = [json.loads(c.proto.spec) for c in app.get("vega_lite_chart")
              if "vconcat" in json.loads(c.proto.spec)]
    assert len(memory) == 1
    assert [part["title"] for part in memory[0]["vconcat"]] == ["Prediction after each word",
                                                                "Memory after each word"]
    # Only the network can be looked inside; the scikit-learn baseline has no button.
    inside = [b for b in app.button if b.label == "Look inside with this sentence"]
    assert [b.key for b in inside] == [f"playground_inside_{gru.run_id}"]
    inside[0].click().run()
    assert_ok(app)
    assert texts(app.title) == ["Inside"]
    assert app.selectbox(key="inside_run_reviews").value == gru.run_id
    assert "Your input from the Playground" in texts(app.markdown)
    assert text in texts(app.text)
    expected = Predictor(gru, RunStore())(as_batch(text))[0]
    softmax = [c for c in app.get("vega_lite_chart")
               if json.loads(c.proto.spec).get("encoding", {}).get("x", {}).get("field") == "probability"]
    assert len(softmax) == 1
    assert chart_data(softmax[0])["probability"].tolist() == pytest.approx(expected, abs=1e-5)

    # Off: the validation sample again. (AppTest reruns the page it was last told to open.)
    app.switch_page("pages/inside.py")
    app.toggle(key="inside_own_reviews").set_value(False).run()
    assert_ok(app)
    assert "Your input from the Playground" not in texts(app.markdown)
    assert any(m.startswith("Validation sample #") for m in texts(app.markdown)), texts(app.markdown)


@pytest.mark.slow
def test_playground_text(app):
    from nnapps.analysis.playground import check_text

    runs = train_into_store("reviews", [("tfidf", {}), ("boe", {"train": {"epochs": 1}})])
    open_dataset(app, "pages/playground.py", "reviews")
    assert sorted(app.multiselect(key="playground_runs_reviews").value) == sorted(r.run_id for r in runs)
    assert not app.metric and not page_html(app)

    app.text_input(key="playground_text").set_value("   ").run()
    assert_ok(app)
    assert not app.error and not app.metric and not probability_charts(app)

    text = "Not bad at all, the battery zzqx lasts for days"
    app.text_input(key="playground_text").set_value(text).run()
    assert_ok(app)
    assert not app.error, texts(app.error)
    bodies = page_html(app)
    assert bodies
    for body in bodies:  # one token view per distinct tokenizer
        for word in ("not", "bad", "battery", "lasts", "days"):
            assert f">{word}</span>" in body
        assert 'text-decoration:line-through">zzqx</span>' in body
        assert 'line-through">battery<' not in body
    assert any("Tokens read by" in m and "1 outside the vocabulary" in m for m in texts(app.markdown))

    answers = playground_answers(app, "reviews", check_text(text))
    assert [m.value for m in app.metric] == answers
    assert set(answers) <= {"negative", "positive"}
    assert len(probability_charts(app)) == 2

    # Emptied again: no error, and no results.
    app.text_input(key="playground_text").set_value("").run()
    assert_ok(app)
    assert not app.error and not app.metric and not probability_charts(app)


@pytest.fixture
def sound_playground(app):
    features = {"n_mels": 16}
    runs = train_into_store("spoken-digits", [("pooled-logreg", {"features": features}),
                                              ("pooled-mlp", {"features": features, "train": {"epochs": 1}})])
    open_dataset(app, "pages/playground.py", "spoken-digits")
    assert sorted(app.multiselect(key="playground_runs_spoken-digits").value) == sorted(r.run_id for r in runs)
    assert app.segmented_control(key="playground_sound_input").value == "Record"
    assert not app.error and not app.metric
    app.segmented_control(key="playground_sound_input").set_value("Upload a file").run()
    assert_ok(app)
    return app, runs


def upload_sound(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="playground_sound").set_value((name, data, "audio/wav")).run()
    assert_ok(at)
    return at


def test_playground_sound_upload(sound_playground):
    from nnapps.data import load_dataset
    from nnapps.analysis.playground import prepare_sound, recording_samples

    at, runs = sound_playground
    clip = load_dataset("spoken-digits", 0).X_test[5]
    wav = wav_bytes(clip, 8000)
    upload_sound(at, "five.wav", wav)
    assert not at.error, texts(at.error)
    assert len(audio_players(at)) == 1 and audio_players(at)[0].proto.url
    assert len(at.image) == 1  # the spectrogram
    assert {"**What the models hear**", "**Its spectrogram**"} <= set(texts(at.markdown))
    assert any(c.startswith("1.0 s at 8,000 Hz, mono") for c in texts(at.caption))

    item = prepare_sound(*recording_samples(wav, "five.wav"), 8000, 8000)
    answers = playground_answers(at, "spoken-digits", item)
    assert [m.value for m in at.metric] == answers
    assert len(probability_charts(at)) == 2


def test_playground_sound_upload_of_a_44k_stereo_tone(sound_playground):
    at, runs = sound_playground
    t = np.arange(2 * 44100) / 44100
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    upload_sound(at, "tone.wav", wav_bytes(np.stack([tone, tone], axis=1), 44100))
    assert not at.error, texts(at.error)
    assert len(audio_players(at)) == 1 and len(at.image) == 1
    assert len(at.metric) == 2 and len(probability_charts(at)) == 2


def test_playground_refuses_a_silent_sound(sound_playground):
    at, runs = sound_playground
    upload_sound(at, "quiet.wav", wav_bytes(np.zeros(8000, np.float32), 8000))
    errors = texts(at.error)
    assert len(errors) == 1 and "silent" in errors[0]
    assert not at.metric and not probability_charts(at) and not audio_players(at)


# --- Inside --------------------------------------------------------------------------------

def chart_data(element):
    """A DataFrame of the rows a chart draws: Streamlit sends an Altair chart's data beside its spec (proto
    datasets, Arrow bytes); an inline dataset in the spec is read as well."""
    import pandas as pd
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in element.proto.datasets]
    spec = json.loads(element.proto.spec)
    frames += [pd.DataFrame(rows) for rows in spec.get("datasets", {}).values()]
    if "values" in spec.get("data", {}):
        frames.append(pd.DataFrame(spec["data"]["values"]))
    assert len(frames) == 1, f"expected one dataset, found {len(frames)}"
    return frames[0]


def charts_by_field(at: AppTest, channel: str, field: str) -> list:
    """The page's charts whose encoding channel (x, y, ...) draws field."""
    return [c for c in at.get("vega_lite_chart")
            if json.loads(c.proto.spec).get("encoding", {}).get(channel, {}).get("field") == field]


def graphviz_sources(at: AppTest) -> list[str]:
    return [g.proto.spec for g in at.get("graphviz_chart")]


def validation_items(run, n: int | None = 500):
    """A run's model (eval mode), its preprocessed first n validation items, and their labels,
    loaded here from the store and the dataset rather than from the page's caches."""
    import torch
    from nnapps.data import load_dataset
    from nnapps.training.pipeline import Predictor

    predictor = Predictor(run, RunStore())
    dataset = load_dataset(run.config.dataset, 0)
    X = torch.as_tensor(predictor.preprocessor.transform(dataset.X_val[:n]))
    return predictor.model.eval(), X, dataset.y_val[:n], dataset


def module_io(model, X, kind) -> dict[str, tuple]:
    """(input, output) of every module of type kind for X, by module name, through plain hooks."""
    import torch

    seen, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, kind):
            handles.append(module.register_forward_hook(
                lambda mod, args, out, name=name: seen.__setitem__(name, (args[0].detach(), out.detach()))))
    try:
        with torch.no_grad():
            model(X)
    finally:
        for h in handles:
            h.remove()
    return seen


def own_params(model) -> dict[str, int]:
    """Parameter count of each module that owns parameters itself, by name."""
    counts = {name: sum(p.numel() for p in m.parameters(recurse=False)) for name, m in model.named_modules()}
    return {name: n for name, n in counts.items() if n}


@pytest.mark.parametrize("stored", ["nothing", "logreg"])
def test_inside_without_neural_networks(app, stored):
    if stored == "logreg":  # a scikit-learn baseline has no layers to look inside
        train_into_store("digits", [("logreg", {})])
    open_page(app, "pages/inside.py")
    assert texts(app.title) == ["Inside"]
    infos = texts(app.info)
    assert len(infos) == 1 and infos[0].startswith("No trained neural networks on Digits (8x8) yet")
    assert [p.proto.label for p in app.get("page_link")] == ["Train some models"]
    assert not app.tabs and not app.get("graphviz_chart") and not app.metric
    assert not [s for s in app.selectbox if s.key == "inside_run_digits"]


@pytest.fixture
def inside_digits(app):
    """The Inside page on digits with an MLP and a CNN of two epochs each (the MLP shown first)."""
    mlp, cnn = train_two_digits_runs(epochs=2)
    open_page(app, "pages/inside.py")
    return app, mlp, cnn


def test_inside_architecture_of_an_mlp_and_a_cnn(inside_digits):
    at, mlp, cnn = inside_digits
    assert texts(at.title) == ["Inside"]
    assert [t.label for t in at.tabs] == ["Architecture", "Activation functions", "Forward pass",
                                          "Training dynamics", "Backpropagation"]
    runs = at.selectbox(key="inside_run_digits")
    assert runs.options == [mlp.label, cnn.label] and runs.value == mlp.run_id

    # The MLP as neurons: input 64, two hidden layers of 128 with ReLU, output 10.
    (dot,) = graphviz_sources(at)
    assert [f"subgraph cluster_{i}" in dot for i in range(5)] == [True, True, True, True, False]
    for title in ("input 64", "hidden 128 (relu)", "output 10"):
        assert f'label="{title}"' in dot
    assert dot.count('label="hidden 128 (relu)"') == 2 and "Conv2d" not in dot
    table = at.dataframe[0].value
    assert list(table.columns) == ["layer", "output", "parameters", "in the code"]
    assert list(table["layer"]) == ["Flatten", "Layer 1: Linear 64 → 128", "ReLU after layer 1",
                                    "Layer 2: Linear 128 → 128", "ReLU after layer 2", "Layer 3: Linear 128 → 10"]
    assert list(table["in the code"]) == [f"layers.{i}" for i in range(6)]
    assert int(table["parameters"].sum()) == mlp.metrics["params"] == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    assert {m.label: m.value for m in at.metric} == {"Parameters in all": f"{mlp.metrics['params']:,}"}

    # The CNN as a chain of layers with their shapes.
    runs.set_value(cnn.run_id).run()
    assert_ok(at)
    (dot,) = graphviz_sources(at)
    assert "cluster_" not in dot and 'label="Conv2d\\n16 x 8 x 8"' in dot
    assert dot.count('label="Conv2d') == 2 and 'label="Linear\\n10"' in dot
    table = at.dataframe[0].value
    assert any(title.startswith("Layer 1: Conv2d 1 → 16 channels") for title in table["layer"])
    assert int(table["parameters"].sum()) == cnn.metrics["params"] != mlp.metrics["params"]
    assert {m.label: m.value for m in at.metric} == {"Parameters in all": f"{cnn.metrics['params']:,}"}


def test_inside_activation_functions(inside_digits):
    import torch
    from nnapps.analysis.inside import unit_usage

    at, mlp, cnn = inside_digits
    curves = chart_data(charts_by_field(at, "column", "what")[0])
    assert set(curves["what"]) == {"value", "derivative"} and {"relu", "sigmoid", "tanh"} <= set(curves["function"])
    relu = curves[curves["function"] == "relu"]

    def relu_at(what, x):
        (y,) = relu[(relu["what"] == what) & np.isclose(relu["x"], x)]["y"]
        return y

    assert relu_at("value", 2.0) == pytest.approx(2.0) and relu_at("value", -2.0) == 0.0
    assert relu_at("derivative", 3.0) == 1.0 and relu_at("derivative", -3.0) == 0.0

    model, X, _, _ = validation_items(mlp)
    assert len(X) == 270  # digits has 270 validation items, all under the page's 500
    assert f"**{mlp.label}**: what reaches each activation function on 270 validation items." in texts(at.markdown)
    usage = next(d.value for d in at.dataframe if "dead units (never positive)" in d.value.columns)
    pre = {name: inputs for name, (inputs, _) in module_io(model, X, torch.nn.ReLU).items()}
    assert list(usage["in the code"]) == list(pre) and len(pre) == 2  # one row per ReLU layer
    assert list(usage["layer"]) == ["ReLU after layer 1", "ReLU after layer 2"]
    assert list(usage["function"]) == ["relu", "relu"] and list(usage["units"]) == [128, 128]
    expected = [unit_usage("relu", values) for values in pre.values()]
    assert list(usage["dead units (never positive)"]) == [u.dead for u in expected]
    np.testing.assert_allclose(usage["at or below 0"], [u.negative for u in expected])
    hist = chart_data(charts_by_field(at, "x", "pre-activation")[0])
    assert set(hist["in the code"]) == set(pre)


def test_inside_forward_pass(inside_digits):
    import torch

    at, mlp, cnn = inside_digits
    model, X, y, dataset = validation_items(mlp)
    hard = at.sidebar.number_input(key=f"inside_sample_{mlp.run_id}").value
    assert f"Validation sample #{hard}, true class **{dataset.class_names[y[hard]]}**" in texts(at.markdown)
    assert "**ReLU after layer 1** (128; `layers.2` in the code)" in texts(at.markdown)
    assert "**ReLU after layer 2** (128; `layers.4` in the code)" in texts(at.markdown)

    def check_sample(i):
        relus = module_io(model, X[i:i + 1], torch.nn.ReLU)
        bars = [chart_data(c) for c in charts_by_field(at, "y", "activation")]
        assert len(bars) == len(relus) == 2  # one bar chart per activation layer
        for drawn, (_, out) in zip(bars, relus.values()):
            np.testing.assert_allclose(drawn["activation"], out[0].numpy(), rtol=1e-5, atol=1e-6)
        with torch.no_grad():
            logits = model(X[i:i + 1])[0]
        (logit_chart,) = charts_by_field(at, "y", "logit")
        np.testing.assert_allclose(chart_data(logit_chart)["logit"], logits.numpy(), rtol=1e-5, atol=1e-5)
        (prob_chart,) = charts_by_field(at, "x", "probability")
        probs = chart_data(prob_chart)
        assert list(probs["class"]) == list(dataset.class_names)
        assert probs["probability"].sum() == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(probs["probability"], torch.softmax(logits, 0).numpy(), rtol=1e-5, atol=1e-7)
        return probs["probability"].to_numpy()

    first = check_sample(hard)
    other = 5 if hard != 5 else 6
    at.sidebar.number_input(key=f"inside_sample_{mlp.run_id}").set_value(other).run()
    assert_ok(at)
    assert f"Validation sample #{other}, true class **{dataset.class_names[y[other]]}**" in texts(at.markdown)
    assert not any(m.startswith(f"Validation sample #{hard},") for m in texts(at.markdown))
    assert not np.allclose(check_sample(other), first)


def test_inside_training_dynamics(inside_digits):
    from nnapps.training.pipeline import Predictor

    at, mlp, cnn = inside_digits
    # The shown run and one other are compared at first.
    assert [m.value for m in at.multiselect if m.label == "Compared with"] == [[cnn.run_id]]
    (norms_chart,) = charts_by_field(at, "y", "norm")
    norms = chart_data(norms_chart)
    keys = list(zip(norms["run"], norms["epoch"], norms["in the code"], norms["what"]))
    assert len(keys) == len(set(keys))  # one row per (run, epoch, layer, what)
    store = RunStore()
    layers = {r.label: own_params(Predictor(r, store).model) for r in (mlp, cnn)}
    assert set(keys) == {(label, epoch, layer, what) for label, owned in layers.items() for epoch in (1, 2)
                         for layer in owned for what in ("gradient norm", "weight norm")}
    assert (norms["norm"] > 0).all()

    # Weight histograms of the shown run at its first and last epochs: every weight counted once.
    assert at.multiselect(key=f"inside_hist_epochs_{mlp.run_id}").value == [1, 2]
    (hist_chart,) = charts_by_field(at, "y", "weights")
    hist = chart_data(hist_chart)
    counts = hist.groupby(["in the code", "epoch"])["weights"].sum()
    owned = layers[mlp.label]
    assert set(counts.index) == {(layer, epoch) for layer in owned for epoch in ("1", "2")}
    for (layer, _), total in counts.items():
        assert total == owned[layer]
    assert sum(owned.values()) == mlp.metrics["params"]

    at.multiselect(key=f"inside_hist_epochs_{mlp.run_id}").set_value([2]).run()
    assert_ok(at)
    assert set(chart_data(charts_by_field(at, "y", "weights")[0])["epoch"]) == {"2"}


def test_inside_backpropagation(inside_digits):
    import re

    import torch
    from nnapps.analysis.inside import backprop_step, dense_layers

    at, mlp, cnn = inside_digits
    assert at.number_input(key="inside_lr").value == 0.1
    # The equations in the order a step runs them (split over lines that fit 1280 px).
    latex = "\n".join(element.value for element in at.latex)
    steps = [r"L = -\log p_y", r"p - \mathrm{onehot}(y)", r"W \leftarrow W - \eta"]
    assert all(s in latex for s in steps) and sorted(steps, key=latex.index) == steps

    model, X, y, dataset = validation_items(mlp)
    i = at.sidebar.number_input(key=f"inside_sample_{mlp.run_id}").value  # the run's hardest
    X, y = X[i:], y[i:]
    step = backprop_step(dense_layers(model), X[0].numpy(), int(y[0]), 0.1)
    report = next(m for m in texts(at.markdown) if "Loss = -log p(true class)" in m)
    true_class = dataset.class_names[y[0]]
    assert report.startswith(f"Sample #{i}, the one this run finds hardest (true class **{true_class}**).")
    assert f"-log {step.probabilities[step.target]:.4f} = **{step.loss:.4f}**" in report
    assert f"After one step of size 0.1 against the gradient, the loss is **{step.loss_after:.4f}**" in report
    assert step.loss_after < step.loss

    # The same numbers from PyTorch: the loss, and the loss after one SGD step of 0.1.
    loss, after = (float(v) for v in re.findall(r"\*\*([0-9.]+)\*\*", report)[1:3])
    logits = model(X[:1])
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y[:1]))
    assert loss == pytest.approx(torch_loss.item(), abs=2e-4)
    torch_loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
        assert after == pytest.approx(torch.nn.functional.cross_entropy(
            model(X[:1]), torch.as_tensor(y[:1])).item(), abs=2e-4)
    # one table per dense layer, output layer first
    steps = [d.value for d in at.dataframe if "dL/dz" in d.value.columns]
    assert len(steps) == 3
    np.testing.assert_allclose(steps[0]["dL/dz"], step.layers[-1].dz[:8], rtol=1e-6, atol=1e-9)

    at.selectbox(key="inside_run_digits").set_value(cnn.run_id).run()
    assert_ok(at)
    assert "The step is written out for MLPs (dense layers and activation functions). Pick an MLP " \
           "run to see every number." in texts(at.info)
    assert not at.latex and not any("Loss = -log" in m for m in texts(at.markdown))
    assert not [n for n in at.number_input if n.key == "inside_lr"]


def test_inside_gru_on_reviews(app):
    (gru,) = train_into_store("reviews", [("gru", {"hparams": {"hidden": 8, "embed_dim": 8},
                                                   "train": {"epochs": 1}})])
    open_dataset(app, "pages/inside.py", "reviews")
    assert app.selectbox(key="inside_run_reviews").options == [gru.label]
    (dot,) = graphviz_sources(app)
    assert 'label="GRU"' in dot and 'label="memory"' in dot and "Linear to 2 classes" in dot
    assert "last memory 2 x 8" in dot  # both directions' final states of 8
    infos = texts(app.info)
    assert f"{gru.label} has no activation layers of its own: a GRU's sigmoid and tanh gates " \
           "live inside its cell." in infos
    assert not [d for d in app.dataframe if "dead units (never positive)" in d.value.columns]
    table = app.dataframe[0].value
    assert any(": GRU " in title for title in table["layer"])
    assert int(table["parameters"].sum()) == gru.metrics["params"]
    # the forward pass shows the GRU's last memory and the text itself
    assert any(m.startswith("**Layer 2: GRU ") and m.endswith("** (2 x 8; `rnn` in the code)")
               for m in texts(app.markdown))
    (prob_chart,) = charts_by_field(app, "x", "probability")
    assert chart_data(prob_chart)["probability"].sum() == pytest.approx(1.0, abs=1e-6)
    assert any("The step is written out for MLPs" in i for i in infos)


def test_inside_cnn_on_spoken_digits(app):
    (cnn,) = train_into_store("spoken-digits", [("cnn", {"features": {"n_mels": 16},
                                                         "hparams": {"n_blocks": 2, "channels": 4},
                                                         "train": {"epochs": 1}})])
    open_dataset(app, "pages/inside.py", "spoken-digits")
    assert app.selectbox(key="inside_run_spoken-digits").options == [cnn.label]
    (dot,) = graphviz_sources(app)
    assert 'label="Conv2d\\n4 x 16 x 63"' in dot
    players = audio_players(app)
    assert len(players) == 1 and players[0].proto.url
    # the spectrogram, then up to eight feature maps per convolution block (4, then 8 channels)
    assert [len(i.value) for i in app.image] == [1, 4, 8]
    assert [c.caption for c in app.image[2].proto.imgs] == [f"map {k}" for k in range(8)]
    markdown = texts(app.markdown)
    for shape, name in (("4 x 16 x 63", "features.2"), ("8 x 8 x 31", "features.6")):
        assert any(m.startswith("**ReLU after layer ") and m.endswith(f"** ({shape}; `{name}` in the code)")
                   for m in markdown)
    assert {m.label: m.value for m in app.metric} == {"Parameters in all": f"{cnn.metrics['params']:,}"}


def test_playground_and_inside_name_a_run_whose_weights_no_longer_load(app):
    """A run stored by code whose layers have since changed: the pages say so and go on."""
    import torch
    from safetensors.torch import save_file

    store = RunStore()
    logreg = train_run(RunConfig.make("digits", "logreg"), store)
    mlp = train_run(RunConfig.make("digits", "mlp", train={"epochs": 1}), store)
    save_file({"old.layer.weight": torch.zeros(3)}, str(store._paths(mlp.run_id)[1]))
    open_page(app, "pages/playground.py")
    warnings = texts(app.warning)
    assert len(warnings) == 1 and warnings[0].startswith(f"{mlp.label} could not be loaded (retrain it)")
    assert app.multiselect(key="playground_runs_digits").value == [logreg.run_id, mlp.run_id]
    open_page(app, "pages/inside.py")  # the MLP is the only network, so the page names it
    errors = texts(app.error)
    assert len(errors) == 1 and errors[0].startswith(f"{mlp.label} could not be loaded")
