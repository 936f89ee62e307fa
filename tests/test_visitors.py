"""The pages for several visitors of one copy: each sees their own runs and uploads and the
examples, a link shares what it names, and a visitor past their limit is told which and why."""

import pytest
from page_helpers import assert_ok, button, image_zip, open_page, texts

from nnapps.data.uploads import store_upload
from nnapps.store.links import encode_runs
from nnapps.training.pipeline import train_run
from nnapps.store.runs import EVERYONE, RunConfig, RunStore
from nnapps.ui import services, state
from nnapps.ui.visitor import KEY as VISITOR

ANN, BOB = "a" * 32, "b" * 32


def as_visitor(at, visitor: str, page: str):
    """The session as visitor, on page, with no link in the address (a link would share runs)."""
    at.session_state[VISITOR] = visitor
    for key in list(at.query_params):
        del at.query_params[key]
    return open_page(at, page)


def digits_runs() -> dict[str, object]:
    store = RunStore()
    return {"example": train_run(RunConfig.make("digits", "logreg"), store),
            "ann": train_run(RunConfig.make("digits", "mlp", train={"epochs": 1}), store, owner=ANN),
            "bob": train_run(RunConfig.make("digits", "cnn", train={"epochs": 1}), store, owner=BOB)}


def test_compare_shows_the_visitors_runs_and_the_examples(app):
    runs = digits_runs()
    as_visitor(app, ANN, "pages/compare.py")
    shown = set(app.multiselect(key=state.COMPARE_RUNS).options)
    assert shown == {runs["example"].label, runs["ann"].label}
    assert app.multiselect(key="delete_runs").options == [runs["ann"].label]
    as_visitor(app, BOB, "pages/playground.py")  # every page that lists runs follows the visitor
    assert runs["ann"].label not in " ".join(app.multiselect[0].options)


def test_a_link_shares_the_runs_it_names(app):
    runs = digits_runs()
    app.session_state[VISITOR] = ANN
    app.switch_page("pages/compare.py")
    app.query_params["dataset"] = "digits"
    app.query_params["runs"] = encode_runs([runs["bob"].config])
    app.run()
    assert_ok(app)
    assert app.multiselect(key=state.COMPARE_RUNS).value == [runs["bob"].run_id]
    assert any("1 stored here" in i.value for i in app.info)
    assert services.get_store().owners(runs["bob"].run_id) == {ANN, BOB}


@pytest.mark.slow
def test_the_one_click_examples_are_everyones(app):
    app.session_state[VISITOR] = ANN
    button(app, "Train an MLP and a CNN on digits").click().run()
    queue = services.get_queue()
    owners = {queue.snapshot(j).owner for j in app.session_state[state.JOBS]}
    assert owners == {EVERYONE}


@pytest.mark.slow
def test_a_visitor_past_their_limit_is_told_which_and_why(app, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_RUNS_PER_VISITOR", "1")
    digits_runs()
    as_visitor(app, ANN, "pages/train.py")
    button(app, "Train 2 models").click().run()
    assert_ok(app)
    message = " ".join(texts(app.error))
    assert "2 of 2 not queued" in message and "NNAPPS_MAX_RUNS_PER_VISITOR" in message
    assert "Delete runs you no longer need" in message
    assert not app.session_state[state.JOBS]


def test_an_upload_is_listed_for_its_owner_and_whoever_has_its_link(app):
    spec = store_upload(image_zip(), "pets.zip")
    cli_spec = store_upload(image_zip(("cars", "boats")), "vehicles.zip")  # nobody's: everyone's
    services.get_store().claim(spec.name, BOB)
    as_visitor(app, ANN, "pages/data.py")
    names = app.selectbox(key=state.DATASET).options
    assert "pets.zip (yours)" not in names and "vehicles.zip (yours)" in names
    # Stored from the command line, nobody claimed it: listed for every visitor.
    assert services.get_store().owners(cli_spec.name) == set()
    as_visitor(app, BOB, "pages/data.py")
    names = app.selectbox(key=state.DATASET).options
    assert "pets.zip (yours)" in names and "vehicles.zip (yours)" in names
    # Ann is sent a link to it: now it is listed for her too.
    app.session_state[VISITOR] = ANN
    app.query_params["dataset"] = spec.name
    app.run()
    assert_ok(app)
    assert app.selectbox(key=state.DATASET).value == spec.name
    assert ANN in services.get_store().owners(spec.name)
