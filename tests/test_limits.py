"""Limits for a public copy: each read from the environment, each refusal names the limit and why."""

import math
from pathlib import Path

import pytest

from nnapps import limits
from nnapps.data import corpora
from nnapps.data.dataset import DatasetUnavailable
from nnapps.gpt.runs import gpt_config
from nnapps.gpt.train import train_lm
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from page_helpers import assert_ok, button, open_page, texts


def test_defaults_hold_without_the_environment(monkeypatch):
    monkeypatch.delenv("NNAPPS_PUBLIC", raising=False)
    for limit in limits.LIMITS:
        monkeypatch.delenv(limit.variable, raising=False)
        assert limit.value() == limit.default


def test_a_public_copy_takes_its_tighter_defaults_and_a_setting_still_wins(monkeypatch):
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    for limit in limits.LIMITS:
        monkeypatch.delenv(limit.variable, raising=False)
        expected = limit.default if limit.public is None else limit.public
        assert limit.value() == expected <= limit.default, limit.variable
    # A local copy evicts nothing: its eviction limits are infinite, a public copy's are not.
    evicting = (limits.RUN_AGE_DAYS, limits.STORE_MB, limits.RUNS_PER_VISITOR)
    assert all(math.isfinite(limit.value()) for limit in evicting)
    monkeypatch.setenv("NNAPPS_MAX_RUN_AGE_DAYS", "7")
    assert limits.RUN_AGE_DAYS.value() == 7
    monkeypatch.setenv("NNAPPS_PUBLIC", "0")
    monkeypatch.delenv("NNAPPS_MAX_RUN_AGE_DAYS")
    assert all(math.isinf(limit.value()) for limit in evicting)
    monkeypatch.setenv("NNAPPS_PUBLIC", "perhaps")
    with pytest.raises(ValueError, match="NNAPPS_PUBLIC='perhaps' must be 1 or 0"):
        limits.RUN_AGE_DAYS.value()


def shown(value: float) -> str:
    return "no limit" if math.isinf(value) else f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def test_the_readme_lists_every_limit_with_its_setting():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for limit in limits.LIMITS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{limit.variable}` |")), None)
        assert row is not None, f"README.md has no row for {limit.variable}"
        *_, local, public = [cell.strip() for cell in row.strip("|").split("|")]
        # The number of trainings at once follows the machine it runs on.
        assert local == ("CPU cores" if limit is limits.TRAININGS else shown(limit.default)), (limit.variable, row)
        assert public == shown(limit.default if limit.public is None else limit.public), (limit.variable, row)


@pytest.mark.parametrize("raw", ["ten", "0", "-3"])
def test_a_bad_setting_is_named(monkeypatch, raw):
    monkeypatch.setenv("NNAPPS_MAX_EPOCHS", raw)
    with pytest.raises(ValueError, match="NNAPPS_MAX_EPOCHS"):
        limits.EPOCHS.value()


def test_epochs_over_the_limit_are_refused_before_loading_anything(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_EPOCHS", "3")
    config = RunConfig.make("digits", "mlp", train={"epochs": 4})
    with pytest.raises(limits.LimitExceeded, match=r"4 epochs of one training asked for; this copy allows "
                                                   r"at most 3 \(NNAPPS_MAX_EPOCHS\), because"):
        train_run(config, RunStore())
    assert RunStore().get(config.run_id) is None


def test_a_model_over_the_parameter_limit_is_refused(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_PARAMS", "10000")
    with pytest.raises(limits.LimitExceeded, match="parameters in one model"):
        train_run(RunConfig.make("digits", "mlp", train={"epochs": 1}), RunStore())  # 26,122 parameters
    # A smaller one goes through.
    assert train_run(RunConfig.make("digits", "mlp", {"width": 16, "n_layers": 1}, {"epochs": 1}),
                     RunStore()).status == "complete"


def test_gpt_steps_size_and_text_are_bounded(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_GPT_STEPS", "100")
    with pytest.raises(limits.LimitExceeded, match="NNAPPS_MAX_GPT_STEPS"):
        gpt_config("builtin", train={"steps": 101})
    monkeypatch.setenv("NNAPPS_MAX_PARAMS", "1000")
    text = "a small text to learn from. " * 20
    with pytest.raises(limits.LimitExceeded, match="NNAPPS_MAX_PARAMS"):
        train_lm(text, text, {"n_layers": 1, "width": 32, "context": 16}, {"steps": 1})
    monkeypatch.setenv("NNAPPS_MAX_CORPUS_MB", "0.0001")
    with pytest.raises(DatasetUnavailable, match="NNAPPS_MAX_CORPUS_MB"):
        corpora.user_text(text.encode())


def test_an_upload_over_the_dataset_size_limit_is_refused(monkeypatch):
    from nnapps.data.text_table import load_text_table
    from nnapps.data.uploads import store_upload
    from page_helpers import image_zip
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "7")
    with pytest.raises(DatasetUnavailable, match=r"the archive holds 8 images; this copy allows at most 7 "
                                                 r"\(NNAPPS_MAX_DATASET_ITEMS\), because"):
        store_upload(image_zip(per_class=4), "pets.zip")
    rows = "text,label\n" + "".join(f"text number {i},{'ab'[i % 2]}\n" for i in range(8))
    with pytest.raises(DatasetUnavailable, match=r"the file has 8 rows of data; .*NNAPPS_MAX_DATASET_ITEMS"):
        load_text_table(rows.encode())
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "8")
    assert len(load_text_table(rows.encode()).y) == 8
    assert "8 images" in store_upload(image_zip(per_class=4), "pets.zip").description


# --- the pages say which limit -------------------------------------------------------------


def test_train_page_names_the_epoch_limit_and_queues_nothing(app, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_EPOCHS", "5")
    open_page(app, "pages/train.py")
    assert any("this copy allows at most 5 (NNAPPS_MAX_EPOCHS)" in e for e in texts(app.error))
    assert button(app, "Train 0 models").disabled


def test_gpt_page_names_the_step_limit(app, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_GPT_STEPS", "100")
    open_page(app, "pages/gpt.py")
    app.radio(key="gpt_source").set_value("Python documentation (built in)").run()
    assert_ok(app)
    assert any("NNAPPS_MAX_GPT_STEPS" in e for e in texts(app.error))
    assert not [b for b in app.button if b.label == "Train"]


def test_a_link_to_a_stored_model_over_a_limit_still_opens_it(app, monkeypatch):
    from nnapps.gpt.runs import SHIPPED, gpt_config, read_checkpoint
    from nnapps.store.links import encode_gpt
    monkeypatch.setenv("NNAPPS_MAX_GPT_STEPS", "100")  # the shipped model took 3,000
    shipped, _ = read_checkpoint(SHIPPED, header_only=True)
    app.switch_page("pages/gpt.py")
    app.query_params["gpt"] = encode_gpt(shipped)
    app.run()
    assert_ok(app)
    assert app.selectbox(key="gpt_run").value == shipped.run_id
    # A link to a model over the limit that is not stored here is not trained.
    big = gpt_config("builtin", train={"steps": 5000}, check_limits=False)
    app.query_params["gpt"] = encode_gpt(big)
    app.run()
    assert any("will not train it" in w and "NNAPPS_MAX_GPT_STEPS" in w for w in texts(app.warning))


def test_data_page_names_the_dataset_size_limit(app, monkeypatch):
    from page_helpers import image_zip, upload
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "3")
    open_page(app, "pages/data.py")
    upload(app, "pets.zip", image_zip())
    assert_ok(app)
    assert any("pets.zip could not be used" in e and "NNAPPS_MAX_DATASET_ITEMS" in e for e in texts(app.error))


def test_the_sidebar_says_which_kind_of_copy_this_is(app, monkeypatch):
    monkeypatch.delenv("NNAPPS_PUBLIC", raising=False)
    open_page(app, "pages/data.py")
    assert "Local copy: generous limits, and nothing you make is removed." in texts(app.sidebar.caption)
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    app.run()
    assert ("Public copy, shared by its visitors: limits apply and runs unused for 30 days are removed."
            in texts(app.sidebar.caption))
