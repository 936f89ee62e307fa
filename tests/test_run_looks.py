"""One colour and one name per run on every page: the colour helper, the chart builders that take
its mapping, confusion matrices that share one scale and name every class, layers named for
people; and in AppTest, the same run in the same colour on Compare and Inside."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from nnapps.analysis.inside import layer_titles
from nnapps.charts import compare as compare_charts
from nnapps.charts import results as charts
from nnapps.charts.colours import PALETTE, run_colours
from nnapps.models.mlp import MLP, MLPConfig
from nnapps.training.loop import EpochStats, layer_groups
from nnapps.ui.run_labels import RunLooks
from page_helpers import assert_ok, chart_specs, open_page, read

EPOCHS = [EpochStats(epoch=e, train_loss=1 / e, train_acc=0.5, val_loss=1.2 / e, val_acc=0.4, seconds=0.1)
          for e in (1, 2)]


def fake_run(run_id: str, label: str, created: float):
    # RunLooks reads only these three fields of a Run.
    return SimpleNamespace(run_id=run_id, label=label, created=created)


def test_a_runs_colour_stays_when_runs_are_added():
    before = RunLooks.of([fake_run("a", "MLP", 1.0), fake_run("b", "CNN", 2.0)])
    after = RunLooks.of([fake_run("c", "MLP", 3.0), fake_run("a", "MLP", 1.0), fake_run("b", "CNN", 2.0)])
    assert after.colours["a"] == before.colours["a"] and after.colours["b"] == before.colours["b"]
    assert after.colours["c"] not in (after.colours["a"], after.colours["b"])
    # Two runs of one label are told apart by their ids, on every page alike.
    assert after.labels["a"] != after.labels["c"] and after.labels["b"] == "CNN"


def test_a_training_takes_the_colour_it_will_have_when_stored():
    stored = [fake_run("a", "MLP", 1.0)]
    training = RunLooks.of(stored, pending=["a", "b", "c"])  # a is stored already: not pending
    assert "b" not in training.labels
    assert training.colours["a"] == RunLooks.of(stored).colours["a"]
    finished = RunLooks.of(stored + [fake_run("b", "CNN", 2.0), fake_run("c", "GRU", 3.0)])
    assert training.colours == finished.colours

def test_colours_cycle_the_palette_by_place():
    ids = [f"run{i}" for i in range(len(PALETTE) + 2)]
    colours = run_colours(ids)
    assert [colours[i] for i in ids[:len(PALETTE)]] == list(PALETTE)
    assert colours[ids[len(PALETTE)]] == PALETTE[0]


def colour_of(spec: dict) -> dict[str, str]:
    """label -> colour from a chart's (or its first layer's) colour scale."""
    encoding = spec["encoding"] if "encoding" in spec else next(layer["encoding"] for layer in spec["layer"]
                                                                  if "color" in layer.get("encoding", {}))
    scale = encoding["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"]))


@pytest.mark.parametrize("build", [
    lambda c: charts.curves_chart({"MLP": EPOCHS, "CNN": EPOCHS}, "loss", colours=c),
    lambda c: charts.curves_chart({"MLP": EPOCHS, "CNN": EPOCHS}, "accuracy", epoch=1, colours=c),
    lambda c: compare_charts.seed_curves_chart({"MLP": [EPOCHS, EPOCHS], "CNN": [EPOCHS]}, "loss", colours=c),
    lambda c: compare_charts.reliability_chart({"MLP": [], "CNN": []}, colours=c),
    lambda c: charts.distribution_chart({"MLP": np.array([0.3, 0.7]), "CNN": np.array([0.6, 0.4])},
                                        ["cat", "dog"], colours=c),
], ids=["curves", "curves at an epoch", "seed curves", "reliability", "distribution"])
def test_run_charts_draw_each_run_in_the_colour_given(build):
    given = {"MLP": "#59a14f", "CNN": "#e15759"}
    assert colour_of(build(given).to_dict()) == given


def test_curves_have_a_legend_for_the_run_and_the_line_style():
    import vl_convert

    for chart in (charts.curves_chart({"MLP": EPOCHS}, "loss"),
                  compare_charts.seed_curves_chart({"MLP": [EPOCHS, EPOCHS]}, "loss"),
                  charts.curves_chart({"a": EPOCHS, "b": EPOCHS}, "loss", unit="step")):
        # The legends as Vega draws them: one for the runs' colours, one whose symbols are
        # visible strokes in each split's dash (points overlaid on a line would make them
        # transparent).
        legends = vl_convert.vegalite_to_vega(chart.to_dict())["legends"]
        assert any("fill" in legend or "stroke" in legend for legend in legends)
        [dash] = [legend for legend in legends if "strokeDash" in legend]
        assert dash["symbolType"] == "stroke"
        assert "transparent" not in json.dumps(dash.get("encode", {}))


def test_playground_bars_take_the_runs_colour():
    spec = charts.probability_bars(np.array([0.2, 0.8]), ["cat", "dog"], colour="#76b7b2").to_dict()
    colour = spec["encoding"]["color"]
    assert colour["condition"]["value"] == "#76b7b2" and colour["value"] != "#76b7b2"  # the rest stay grey


def test_confusion_matrices_share_a_scale_name_every_class_and_have_a_legend():
    names = [f"class {i}" for i in range(12)]
    small, large = np.eye(12, dtype=int) * 3, np.eye(12, dtype=int) * 9
    vmax = charts.shared_vmax([small, large], normalize=False)
    assert vmax == 9 and charts.shared_vmax([small, large], normalize=True) == 1.0
    for matrix in (small, large):
        spec = charts.confusion_chart(matrix, names, "run", vmax=vmax).to_dict()
        cells = spec["layer"][0]["encoding"]
        assert cells["color"]["scale"]["domain"] == [0, 9]
        assert cells["color"]["legend"]["title"] == "count"
        assert cells["x"]["axis"]["labelOverlap"] is False and cells["y"]["axis"]["labelOverlap"] is False
    shares = charts.confusion_chart(small, names, "run", normalize=True).to_dict()["layer"][0]["encoding"]
    assert shares["color"]["legend"]["title"] == "share of the true class"
    difference = compare_charts.difference_chart(small - large, names, "A minus B").to_dict()["layer"][0]["encoding"]
    assert difference["y"]["axis"]["labelOverlap"] is False


def test_layers_are_named_for_people_with_every_recorded_layer_named():
    model = MLP(MLPConfig(input_dim=64, n_classes=10, n_layers=2, width=128, activation="relu", dropout=0.1))
    titles = layer_titles(model)
    assert titles["layers.1"] == "Layer 1: Linear 64 → 128"
    assert titles["layers.2"] == "ReLU after layer 1" and titles["layers.3"] == "Dropout after layer 1"
    assert titles["layers.7"] == "Layer 3: Linear 128 → 10"
    names, _, _ = layer_groups(model)  # the keys of the recorded gradient and weight norms
    assert all(titles[name].startswith("Layer ") for name in names)


@pytest.mark.slow
def test_a_run_has_the_same_colour_on_compare_and_inside(app):
    """A scikit-learn baseline stored first takes the first colour on Compare; Inside, which lists
    neural networks only, still draws the MLP in the colour Compare gives it."""
    from nnapps.store.runs import RunConfig, RunStore
    from nnapps.training.pipeline import train_run

    store = RunStore()
    baseline, mlp, cnn = (train_run(RunConfig.make("digits", family, train={"epochs": 2}), store)
                          for family in ("logreg", "mlp", "cnn"))
    open_page(app, "pages/compare.py")
    [curves] = [s for s in chart_specs(app) if s.get("title") == "Loss per epoch"]
    on_compare = colour_of(curves)
    assert on_compare[baseline.label] == PALETTE[0] and on_compare[mlp.label] == PALETTE[1]
    assert on_compare[cnn.label] == PALETTE[2]

    open_page(app, "pages/inside.py")
    app.selectbox(key="inside_run_digits").set_value(mlp.run_id).run()
    assert_ok(app)
    # The picker's colour key gives the MLP Compare's colour, and the CNN compared with it its own.
    keys = [c for c in app.get("caption") if "■" in c.value]
    assert any(on_compare[mlp.label] in c.value and mlp.label in read(c.value) for c in keys)
    assert any(on_compare[cnn.label] in c.value and cnn.label in read(c.value) for c in keys)
