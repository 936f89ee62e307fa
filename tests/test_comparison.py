"""Seed groups and the paired verdict, checked against hand computations from stored runs."""

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from nnapps.cli import main
from nnapps.analysis.comparison import config_id, group_runs, paired_verdict, resolve_group
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def stored(own_dirs):
    """A logistic regression and an MLP on digits, three seeds each, in one store."""
    with own_dirs("comparison") as (home, _):
        store = RunStore()
        runs = {family: [train_run(RunConfig.make("digits", family, train={"epochs": 2, "seed": s}), store)
                         for s in SEEDS] for family in ("logreg", "mlp")}
    return home, runs


def hand_mcnemar(b: int, c: int) -> float:
    """Exact two-sided McNemar: twice the smaller binomial tail at p = 1/2, at most 1."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)


def test_config_id_ignores_only_the_seed():
    a = RunConfig.make("digits", "mlp", train={"seed": 0})
    assert config_id(a) == config_id(RunConfig.make("digits", "mlp", train={"seed": 7}))
    assert config_id(a) != config_id(RunConfig.make("digits", "mlp", train={"seed": 0, "lr": 0.01}))
    assert config_id(a) != config_id(RunConfig.make("digits", "cnn", train={"seed": 0}))


def test_runs_group_by_config_with_mean_and_std(stored):
    _, runs = stored
    mixed = [runs["mlp"][2], runs["logreg"][0], runs["mlp"][0], runs["logreg"][2], runs["mlp"][1],
             runs["logreg"][1]]
    groups = group_runs(mixed)
    assert [g.seeds for g in groups] == [list(SEEDS), list(SEEDS)]
    assert [g.runs[0].config.family for g in groups] == ["mlp", "logreg"]
    assert groups[0].label().endswith("×3 seeds") and "seed" not in groups[0].label().split("×")[0]
    accs = [r.metrics["accuracy"] for r in runs["mlp"]]
    mean, std = groups[0].spread("accuracy")
    assert mean == pytest.approx(sum(accs) / 3)
    assert std == pytest.approx(math.sqrt(sum((a - mean) ** 2 for a in accs) / 2))
    assert group_runs([runs["mlp"][0]])[0].spread("accuracy") == (accs[0], 0.0)


def test_verdict_counts_and_p_values_equal_a_hand_computation(stored):
    home, runs = stored
    store = RunStore(home)
    a, b = (resolve_group(store, config_id(runs[f][0].config)) for f in ("mlp", "logreg"))
    verdict = paired_verdict(a, b)
    assert len(verdict.pairs) == 3
    for pair, ra, rb in zip(verdict.pairs, runs["mlp"], runs["logreg"]):
        assert (pair.seed_a, pair.seed_b) == (ra.config.train["seed"], rb.config.train["seed"])
        only_a = only_b = 0
        for p_a, p_b, y in zip(ra.test_proba, rb.test_proba, ra.y_test):
            right_a, right_b = int(np.argmax(p_a)) == y, int(np.argmax(p_b)) == y
            only_a += right_a and not right_b
            only_b += right_b and not right_a
        assert (pair.only_a_right, pair.only_b_right) == (only_a, only_b)
        assert pair.p_value == pytest.approx(hand_mcnemar(only_a, only_b), rel=1e-9)
        assert pair.accuracy_a == pytest.approx(ra.metrics["accuracy"])
    diffs = [ra.metrics["accuracy"] - rb.metrics["accuracy"] for ra, rb in zip(runs["mlp"], runs["logreg"])]
    assert verdict.difference == pytest.approx(np.mean(diffs))
    lo, hi = verdict.interval
    assert lo < verdict.difference < hi
    # The bootstrap is seeded: the same runs give the same interval.
    assert paired_verdict(a, b).interval == verdict.interval
    # About a normal interval's width for the samples alone (seed pairs add a little).
    d = np.concatenate([(ra.test_proba.argmax(1) == ra.y_test).astype(float) - (rb.test_proba.argmax(1) == rb.y_test)
                        for ra, rb in zip(runs["mlp"], runs["logreg"])])
    se = d.std() / math.sqrt(len(d) / 3)
    assert 0.5 * 3.92 * se < hi - lo < 2.5 * 3.92 * se


def test_difference_matrix_is_confusion_a_minus_confusion_b(stored):
    _, runs = stored
    ra, rb = runs["mlp"][0], runs["logreg"][1]
    verdict = paired_verdict(group_runs([ra])[0], group_runs([rb])[0])
    labels = np.arange(len(ra.class_names))
    expected = (skm.confusion_matrix(ra.y_test, ra.test_proba.argmax(1), labels=labels)
                - skm.confusion_matrix(rb.y_test, rb.test_proba.argmax(1), labels=labels))
    np.testing.assert_array_equal(verdict.difference_matrix, expected)


def test_sentence_is_told_from_the_better_side(stored):
    _, runs = stored
    a, b = group_runs(runs["logreg"])[0], group_runs(runs["mlp"])[0]
    forward, backward = paired_verdict(a, b), paired_verdict(b, a)
    assert forward.difference == pytest.approx(-backward.difference)
    better = forward.label_a if forward.difference > 0 else forward.label_b
    for v in (forward, backward):
        s = v.sentence()
        assert s.startswith(f"Per seed on average, {better} is right on ") and "better by" in s
        assert "of 3 seeds" in s
    one = paired_verdict(group_runs(runs["mlp"][:1])[0], group_runs(runs["logreg"][:1])[0])
    pair = one.pairs[0]
    assert f"is right on {max(pair.only_a_right, pair.only_b_right)} test samples where" in one.sentence()
    assert f"wrong on {min(pair.only_a_right, pair.only_b_right)} where" in one.sentence()


def test_verdict_refuses_runs_on_other_samples(stored):
    _, runs = stored
    other = group_runs(runs["logreg"][:1])[0]
    other.runs[0] = type(other.runs[0])(**{**vars(other.runs[0]), "y_test": other.runs[0].y_test[:-1]})
    with pytest.raises(ValueError, match="same test split"):
        paired_verdict(group_runs(runs["mlp"])[0], other)


def test_cli_trains_seeds_and_compares_configs(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--model", "logreg", "--seeds", "2", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["seeds"] == [0, 1] and len(trained["runs"]) == 2
    assert {r["config_id"] for r in trained["runs"]} == {trained["config_id"]}
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--seeds", "2",
                 "--json"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert main(["compare", trained["config_id"], other["config_id"], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a_runs"] == [r["run_id"] for r in trained["runs"]]
    assert len(out["pairs"]) == 2 and all(0 <= p["p_value"] <= 1 for p in out["pairs"])
    assert out["difference"] == pytest.approx(np.mean([a["accuracy"] - b["accuracy"]
                                                       for a, b in zip(trained["runs"], other["runs"])]))
    assert len(out["difference_matrix"]) == 10 and out["sentence"]
    # A single run against a config; a name nobody stored is refused.
    assert main(["compare", trained["runs"][0]["run_id"], other["config_id"]]) == 0
    assert "test samples" in capsys.readouterr().out
    assert main(["compare", "nope", other["config_id"]]) == 2
    assert "no stored run or config 'nope'" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--model", "logreg", "--seeds", "0"]) == 2
