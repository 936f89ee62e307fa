"""Links that carry runs: round trips, bad links, and the Compare page opened from a link."""

from dataclasses import replace
import base64
import json
import zlib

import pytest
from page_helpers import POLL_TIMEOUT, assert_ok, open_page, poll, texts, train_two_digits_runs

from nnapps.store.links import MAX_RUNS, LinkError, decode_runs, encode_runs
from nnapps.store.runs import RunConfig, RunStore
from nnapps.ui import state

CONFIGS = [RunConfig.make("digits", "mlp", {"width": 64, "activation": "tanh"}, {"epochs": 3, "seed": 7}),
           RunConfig.make("digits", "cnn"),
           RunConfig.make("digits", "logreg", {"C": 0.5}),
           RunConfig.make("digits", "mlp", split_seed=2)]


def token_of(payload) -> str:
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(payload).encode())).rstrip(b"=").decode()


def test_a_token_rebuilds_the_same_configs():
    token = encode_runs(CONFIGS)
    decoded = decode_runs(token, "digits")
    assert decoded.problems == []
    assert [c.run_id for c in decoded.configs] == [c.run_id for c in CONFIGS]
    assert len(token) < 200  # only what differs from the defaults travels
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("token, message", [
    ("!!!", "damaged"),
    (encode_runs(CONFIGS)[:-10], "damaged"),
    (token_of({"v": 99, "r": []}), "not one this version"),
    (token_of([1, 2]), "not one this version"),
    ("A" * 5000, "at most 4,000"),
])
def test_an_unreadable_link_says_why(token, message):
    with pytest.raises(LinkError, match=message):
        decode_runs(token, "digits")


def test_bad_runs_in_a_link_are_named_and_the_rest_kept():
    token = token_of({"v": 1, "r": [{"f": "mlp"}, {"f": "resnet"}, {"f": "mlp", "h": {"width": 10**9}},
                                    {"f": "gru"}, {"h": {}}, {"f": "mlp", "h": [1]}]})
    decoded = decode_runs(token, "digits")
    assert [c.family for c in decoded.configs] == ["mlp"]
    assert len(decoded.problems) == 5
    assert "run 2 of the link was left out: unknown model family 'resnet'" in decoded.problems[0]
    assert "width must be between" in decoded.problems[1]
    assert "takes text data, not image" in decoded.problems[2]


def test_a_link_naming_too_many_runs_shows_the_first():
    decoded = decode_runs(token_of({"v": 1, "r": [{"f": "mlp", "t": {"seed": s}} for s in range(MAX_RUNS + 3)]}),
                          "digits")
    assert len(decoded.configs) == MAX_RUNS and "first 12" in decoded.problems[0]


def test_a_zip_bomb_token_is_cut_short():
    bomb = base64.urlsafe_b64encode(zlib.compress(b'{"v":1,"r":[' + b" " * 3_000_000 + b"]}", 9)).decode()
    assert len(bomb) < 4000  # within the length bound: only the unpacking bound stops it
    with pytest.raises(LinkError, match="damaged"):
        decode_runs(bomb, "digits")


def test_deep_nesting_and_repeated_runs_are_handled():
    with pytest.raises(LinkError):
        decode_runs(base64.urlsafe_b64encode(zlib.compress(b"[" * 60000)).decode(), "digits")
    twice = decode_runs(token_of({"v": 1, "r": [{"f": "mlp"}, {"f": "mlp", "h": {}}]}), "digits")
    assert len(twice.configs) == 1


# --- the Compare page ----------------------------------------------------------------------

def test_compare_link_round_trip_shows_the_same_runs(app):
    runs = train_two_digits_runs()
    open_page(app, "pages/compare.py")
    app.multiselect(key=state.COMPARE_RUNS).set_value([runs[1].run_id]).run()
    token = app.query_params["runs"]
    assert [c.run_id for c in decode_runs(token, "digits").configs] == [runs[1].run_id]
    assert any(token in c.value for c in app.code)  # the link offered to copy
    # The same link, opened in a fresh session, shows exactly that run.
    from streamlit.testing.v1 import AppTest
    from page_helpers import APP, RUN_TIMEOUT
    fresh = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    fresh.switch_page("pages/compare.py")
    fresh.query_params["dataset"] = "digits"
    fresh.query_params["runs"] = token
    fresh.run()
    assert_ok(fresh)
    assert fresh.multiselect(key=state.COMPARE_RUNS).value == [runs[1].run_id]
    assert any("1 stored here" in i.value for i in fresh.info)


@pytest.mark.slow
def test_compare_link_trains_the_runs_that_are_missing(app):
    stored = RunStore()
    from nnapps.training.pipeline import train_run
    present = train_run(RunConfig.make("digits", "mlp", train={"epochs": 2}), stored)
    absent = RunConfig.make("digits", "logreg", {"C": 0.25})
    app.switch_page("pages/compare.py")
    app.query_params["dataset"] = "digits"
    app.query_params["runs"] = encode_runs([present.config, absent])
    app.run()
    assert_ok(app)
    assert any("1 stored here, 1 training now" in i.value for i in app.info)
    assert app.multiselect(key=state.COMPARE_RUNS).value == [present.run_id]
    poll(app, lambda at: absent.run_id in at.multiselect(key=state.COMPARE_RUNS).value,
         "the missing run to be trained and shown", timeout=POLL_TIMEOUT)
    assert set(app.multiselect(key=state.COMPARE_RUNS).value) == {present.run_id, absent.run_id}


def test_compare_bad_link_shows_a_message_and_the_stored_runs(app):
    runs = train_two_digits_runs()
    app.switch_page("pages/compare.py")
    app.query_params["dataset"] = "digits"
    app.query_params["runs"] = "not-a-token"
    app.run()
    assert_ok(app)
    assert any("This link's runs cannot be shown" in w.value for w in app.warning)
    assert set(app.multiselect(key=state.COMPARE_RUNS).value) == {r.run_id for r in runs}


# --- the Playground, Inside and GPT pages ----------------------------------------------------

def open_with(app, page: str, **params):
    app.switch_page(page)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert_ok(app)
    return app


@pytest.mark.parametrize("page, key", [("pages/playground.py", "playground_runs_digits"),
                                       ("pages/inside.py", "inside_run_digits")])
def test_playground_and_inside_links_round_trip(app, page, key):
    runs = train_two_digits_runs()
    for run in runs:
        open_with(app, page, dataset="digits", runs=encode_runs([run.config]))
        value = app.selectbox(key=key).value if "inside" in page else app.multiselect(key=key).value
        assert value == (run.run_id if "inside" in page else [run.run_id])
        # The address now names what is shown, ready to be copied.
        assert [c.run_id for c in decode_runs(app.query_params["runs"], "digits").configs] == [run.run_id]
        assert any(app.query_params["runs"] in c.value for c in app.code)


@pytest.mark.slow
def test_playground_link_trains_a_missing_run_and_then_shows_it(app):
    train_two_digits_runs()
    absent = RunConfig.make("digits", "mlp", {"width": 16}, {"epochs": 2})
    open_with(app, "pages/playground.py", dataset="digits", runs=encode_runs([absent]))
    assert any("0 stored here, 1 training now" in i.value for i in app.info)
    poll(app, lambda at: at.multiselect(key="playground_runs_digits").value == [absent.run_id],
         "the linked run to be trained and chosen", timeout=POLL_TIMEOUT)


@pytest.mark.slow
def test_gpt_link_round_trip_and_a_model_trained_from_a_link(app):
    from nnapps.gpt.runs import SHIPPED, gpt_config, read_checkpoint
    from nnapps.store.links import decode_gpt, encode_gpt
    shipped, _ = read_checkpoint(SHIPPED, header_only=True)
    open_with(app, "pages/gpt.py", gpt=encode_gpt(shipped))
    assert app.selectbox(key="gpt_run").value == shipped.run_id
    # The link names the model's settings; the code version is this copy's (the shipped model was
    # made by earlier code), so compare the settings.
    linked = decode_gpt(app.query_params["gpt"])
    assert replace(linked, code_version=shipped.code_version).run_id == shipped.run_id
    tiny = gpt_config("builtin", {"n_layers": 1, "width": 32, "context": 16}, {"steps": 10, "eval_every": 5})
    open_with(app, "pages/gpt.py", gpt=encode_gpt(tiny))
    assert any("training now" in i.value for i in app.info)
    poll(app, lambda at: at.selectbox(key="gpt_run").value == tiny.run_id, "the linked GPT to be trained",
         timeout=POLL_TIMEOUT)


def test_gpt_links_that_cannot_be_followed_say_why(app):
    from nnapps.gpt.runs import gpt_config
    from nnapps.store.links import encode_gpt
    elsewhere = gpt_config("user-0123456789ab")
    open_with(app, "pages/gpt.py", gpt=encode_gpt(elsewhere))
    assert any("not on this copy" in w.value for w in app.warning)
    open_with(app, "pages/gpt.py", gpt="garbage!")
    assert any("This link's model cannot be shown" in w.value for w in app.warning)
    assert app.selectbox(key="gpt_run").value  # the shipped model is shown instead


def test_a_link_leaves_out_what_the_page_cannot_show(app, monkeypatch):
    train_two_digits_runs()
    other_split = RunConfig.make("digits", "mlp", split_seed=2)
    baseline = RunConfig.make("digits", "logreg")
    open_with(app, "pages/inside.py", dataset="digits", runs=encode_runs([other_split, baseline]))
    warnings = " ".join(texts(app.warning))
    assert "uses split 2" in warnings and "no layers to look inside" in warnings
    assert not app.session_state[state.JOBS]  # nothing was queued for them
    monkeypatch.setenv("NNAPPS_MAX_EPOCHS", "5")
    long = RunConfig.make("digits", "mlp", {"width": 8}, {"epochs": 50})
    open_with(app, "pages/compare.py", dataset="digits", runs=encode_runs([long]))
    assert any("will not be trained" in w and "NNAPPS_MAX_EPOCHS" in w for w in texts(app.warning))
    assert not app.session_state[state.JOBS]


def test_the_address_keeps_a_links_runs_while_they_train(app):
    train_two_digits_runs()
    absent = RunConfig.make("digits", "mlp", {"width": 24}, {"epochs": 2})
    open_with(app, "pages/compare.py", dataset="digits", runs=encode_runs([absent]))
    assert [c.run_id for c in decode_runs(app.query_params["runs"], "digits").configs] == [absent.run_id]
