"""The GPT page in AppTest, with the shipped checkpoint: next-character table, sliders,
step-by-step generation, attention maps, longer generation, and training one's own."""

import json

import pytest
from page_helpers import (POLL_TIMEOUT, ROOT, RUN_TIMEOUT, assert_ok, button, chart_specs, encodings, open_page, poll,
                          read)
from streamlit.testing.v1 import AppTest

from nnapps.gpt.runs import SHIPPED, read_checkpoint

PAGE = "pages/gpt.py"
# Every test here gets its own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")


@pytest.fixture
def gpt(app):
    return open_page(app, PAGE)


def table(at) -> "object":
    [frame] = [d.value for d in at.dataframe if "probability" in d.value.columns]
    return frame


def shipped_label() -> str:
    run, _ = read_checkpoint(SHIPPED)
    return run.label


def test_page_opens_on_the_shipped_model_with_every_character_scored(gpt):
    assert gpt.title[0].value.startswith("GPT")
    model = gpt.selectbox(key="gpt_run")
    assert shipped_label() in model.format_func(model.value)
    frame = table(gpt)
    run, _ = read_checkpoint(SHIPPED)
    assert len(frame) == len(run.class_names)  # every character of the vocabulary
    assert frame["probability"].is_monotonic_decreasing
    assert frame["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    # The default prompt ("...elements of a") is well continued: a space or a letter leads.
    assert frame["probability"].iloc[0] > 0.2
    assert any(f"ln {len(run.class_names)}" in c.value for c in gpt.caption)


def test_temperature_zero_puts_everything_on_one_character(gpt):
    gpt.slider(key="gpt_temperature").set_value(0.0).run()
    assert_ok(gpt)
    frame = table(gpt)
    assert frame["probability"].iloc[0] == 1.0 and frame["probability"].iloc[1:].sum() == 0.0
    # The model's own distribution is still shown beside it.
    assert frame["model's own"].iloc[0] < 1.0


def test_top_k_keeps_only_k_characters(gpt):
    [top_k] = [s for s in gpt.slider if s.label == "Top-k"]
    top_k.set_value(5).run()
    assert_ok(gpt)
    frame = table(gpt)
    assert (frame["probability"] > 0).sum() == 5
    assert frame["probability"].sum() == pytest.approx(1.0, abs=1e-4)


def test_prompt_with_unseen_characters_warns_and_goes_on(gpt):
    run, _ = read_checkpoint(SHIPPED)
    [prompt] = [t for t in gpt.text_area if t.label == "Prompt"]
    unseen = next(c for c in "€☃ж" if c not in run.class_names)
    prompt.set_value(f"def {unseen}main():\n    return").run()
    assert_ok(gpt)
    assert any(unseen in read(w.value) for w in gpt.warning)
    assert len(table(gpt)) == len(run.class_names)
    prompt.set_value("").run()
    assert any("Type a prompt" in i.value for i in gpt.info)


def test_step_by_step_shows_the_distribution_each_character_was_drawn_from(gpt):
    pills = gpt.get("button_group")
    assert pills, "no clickable generated characters"
    options = pills[0].proto.options
    assert len(options) == 30
    gpt.slider(key="gpt_steps").set_value(10).run()
    assert_ok(gpt)
    assert len(gpt.get("button_group")[0].proto.options) == 10
    specs = [s for s in chart_specs(gpt) if s.get("mark", {}).get("type") == "bar"
             or s.get("mark") == "bar"]
    assert specs, "no chart of the alternatives"
    step_text = [m.value for m in gpt.markdown if m.value.startswith("Step 1:")]
    assert step_text and "rank" in step_text[0]


def test_clicking_a_repeated_character_opens_that_step_not_its_last_occurrence(gpt):
    pills = gpt.pills[0]
    shown = [option.content.replace("\u2060", "") for option in pills.proto.options]
    # the first character that the generation repeats later, and where it comes again
    first = next(i for i, c in enumerate(shown) if c in shown[i + 1:])
    for step in (first, shown.index(shown[first], first + 1)):
        pills.set_value(step).run()
        assert_ok(gpt)
        assert gpt.pills[0].value == step
        [text] = [m.value for m in gpt.markdown if m.value.startswith("Step ")]
        assert text.startswith(f"Step {step + 1}: after")
        pills = gpt.pills[0]
    assert len({o.content for o in pills.proto.options}) == len(shown)  # no two labels alike


@pytest.mark.parametrize("widget, value", [("Top-k", 5), ("Temperature", 0.0)])
def test_the_table_is_sorted_by_probability_then_by_the_models_own(gpt, widget, value):
    """Top-k and temperature 0 leave characters at probability 0: those follow in the order
    of the model's own probabilities, not the vocabulary's."""
    [slider] = [s for s in gpt.slider if s.label == widget]
    slider.set_value(value).run()
    assert_ok(gpt)
    frame = table(gpt)
    assert frame["probability"].is_monotonic_decreasing
    left_out = frame[frame["probability"] == 0]
    assert len(left_out) > 10 and left_out["model's own"].is_monotonic_decreasing
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))


def test_the_alternatives_chart_names_its_order_most_probable_first():
    """The browser swaps one step's data for the next in place; with no order named it kept the
    characters the last step showed where they were, so the bars came out of order."""
    import numpy as np

    from nnapps.ui.gpt_views import alternatives_chart

    chars = tuple("abcdefghijklmnopqrst")
    probs = np.random.default_rng(0).dirichlet(np.ones(len(chars)))
    expected = [chars[i] for i in np.argsort(-probs)]
    y = alternatives_chart(probs, chars, chosen=int(np.argmax(probs)), top=8).to_dict()["encoding"]["y"]
    assert y["sort"] == expected[:8]
    tail = chars.index(expected[-1])  # a draw from the tail takes the last place
    y = alternatives_chart(probs, chars, chosen=tail, top=8).to_dict()["encoding"]["y"]
    assert y["sort"] == expected[:7] + [expected[-1]]


def test_attention_shows_one_map_per_head_for_the_chosen_layer(gpt):
    run, _ = read_checkpoint(SHIPPED)
    heads = run.config.hparams["n_heads"]
    titles = [s.get("title") for s in chart_specs(gpt)]
    assert sorted(t for t in titles if str(t).startswith("Head")) == [f"Head {h + 1}" for h in range(heads)]
    maps = [s for s in chart_specs(gpt) if str(s.get("title")).startswith("Head")]
    for spec in maps:  # a character reading the earlier ones, coloured by weight
        assert spec["mark"]["type"] == "rect" if isinstance(spec["mark"], dict) else spec["mark"] == "rect"
        assert {spec["encoding"][k]["field"] for k in ("x", "y", "color")} == {"read", "reading", "weight"}
    first_layer = head_data(gpt)
    gpt.selectbox(key="gpt_layer").set_value(run.config.hparams["n_layers"] - 1).run()
    assert_ok(gpt)
    last_layer = head_data(gpt)
    assert len(last_layer) == heads and all(a != b for a, b in zip(first_layer, last_layer))


def head_data(at) -> list[bytes]:
    """The data each head's map was drawn from, as Streamlit sent it."""
    charts = [c for c in at.get("vega_lite_chart") if str(json.loads(c.proto.spec).get("title")).startswith("Head")]
    return [b"".join(d.data.data for d in c.proto.datasets) for c in charts]


def generated(at) -> str:
    """The Generate tab's text: the prompt and what the model wrote after it."""
    [prompt] = [t.value for t in at.text_area if t.label == "Prompt"]
    [text] = [c.value for c in at.code if c.value.startswith(prompt)]
    return text[len(prompt):]


@pytest.mark.slow
def test_generate_writes_the_same_text_for_the_same_seed(gpt):
    gpt.number_input(key="gpt_gen_length").set_value(60)
    button(gpt, "Generate").click().run()
    assert_ok(gpt)
    first = generated(gpt)
    assert len(first) == 60
    button(gpt, "Generate").click().run()
    assert generated(gpt) == first
    gpt.number_input(key="gpt_gen_seed").set_value(1)
    button(gpt, "Generate").click().run()
    assert generated(gpt) != first


def test_how_it_trained_shows_the_loss_curve_and_samples(gpt):
    specs = [s for s in chart_specs(gpt) if "step" in json.dumps(encodings(s))]
    assert specs, "no loss curve by step"
    run, _ = read_checkpoint(SHIPPED)
    assert sum(m.value.startswith("**Step") for m in gpt.markdown) == len(run.metrics["curve"])


def test_own_text_too_short_is_refused_and_nothing_is_lost(gpt):
    gpt.radio(key="gpt_source").set_value("Your own text").run()
    gpt.text_area(key="gpt_pasted").set_value("too short").run()
    assert_ok(gpt)
    assert any("at least" in e.value for e in gpt.error)
    assert not [b for b in gpt.button if b.label == "Train"]
    run, _ = read_checkpoint(SHIPPED)
    assert len(table(gpt)) == len(run.class_names)  # the explored model is still there


@pytest.mark.slow
def test_training_your_own_shows_progress_then_the_new_model(gpt):
    text = "a small text about cats and dogs, and about dogs and cats. " * 30
    gpt.radio(key="gpt_source").set_value("Your own text").run()
    gpt.text_area(key="gpt_pasted").set_value(text).run()
    for key, value in (("gpt_model_n_layers", 1), ("gpt_model_width", 32), ("gpt_model_context", 16),
                       ("gpt_train_steps", 30), ("gpt_train_eval_every", 10), ("gpt_train_batch_size", 8)):
        widget = gpt.selectbox(key=key) if key == "gpt_model_width" else gpt.number_input(key=key)
        widget.set_value(value)
    button(gpt, "Train").click().run()
    assert_ok(gpt)
    poll(gpt, lambda at: at.selectbox(key="gpt_run").value != read_checkpoint(SHIPPED)[0].run_id,
         "the trained model to be chosen", timeout=POLL_TIMEOUT)
    label = gpt.selectbox(key="gpt_run").format_func(gpt.selectbox(key="gpt_run").value)
    assert "GPT 1x32" in label and "your text" in label
    assert len(table(gpt)) == len(set(text))


def test_page_renders_on_its_own():
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=RUN_TIMEOUT).run()
    assert_ok(at)
    assert table(at)["probability"].sum() == pytest.approx(1.0, abs=1e-4)


def test_own_text_upload_that_is_not_utf8_is_refused(gpt):
    gpt.radio(key="gpt_source").set_value("Your own text").run()
    gpt.file_uploader(key="gpt_upload").upload("old.txt", "café crème ".encode("latin-1") * 50,
                                                "text/plain").run()
    assert_ok(gpt)
    assert any("old.txt is not UTF-8" in read(e.value) for e in gpt.error)
    assert not [b for b in gpt.button if b.label == "Train"]


def test_own_text_upload_is_taken(gpt):
    gpt.radio(key="gpt_source").set_value("Your own text").run()
    gpt.file_uploader(key="gpt_upload").upload("poem.txt", ("roses are red, violets are blue. " * 20).encode(),
                                                "text/plain").run()
    assert_ok(gpt)
    # the file's name is shown as itself, its dot escaped from markdown
    assert any(c.value.startswith("poem\\.txt: 660 characters") for c in gpt.caption)
    assert [b for b in gpt.button if b.label == "Train"]


@pytest.mark.slow
def test_shakespeare_downloads_on_a_click_and_says_so_offline(gpt, tmp_path, monkeypatch):
    from nnapps.data import corpora
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", ("http://127.0.0.1:9/input.txt",))
    gpt.radio(key="gpt_source").set_value("Tiny Shakespeare (download)").run()
    button(gpt, "Download Tiny Shakespeare").click().run()
    assert_ok(gpt)
    assert any("offline" in e.value for e in gpt.error)
    served = tmp_path / "input.txt"
    text = "First Citizen:\nSpeak, speak.\n\n" * 40_000
    served.write_text(text, encoding="utf-8")
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", (served.as_uri(),))
    button(gpt, "Download Tiny Shakespeare").click().run()
    assert_ok(gpt)
    assert any(c.value.startswith(f"Tiny Shakespeare: {len(text):,} characters") for c in gpt.caption)
    assert [b for b in gpt.button if b.label == "Train"]
