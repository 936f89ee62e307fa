"""Charts download as PNG and SVG: every kind of chart the pages draw converts, and the pages
offer both formats beside each chart."""

import numpy as np
import pytest
from page_helpers import open_page, train_two_digits_runs

from nnapps.charts import results as charts
from nnapps.gpt.runs import history_from_curve
from nnapps.gpt.train import EvalPoint
from nnapps.training.loop import EpochStats
from nnapps.ui import gpt_views
from nnapps.ui.charts_out import _png, _svg

EPOCHS = [EpochStats(epoch=e, train_loss=1 / e, train_acc=0.5, val_loss=1.2 / e, val_acc=0.4, seconds=0.1)
          for e in (1, 2, 3)]
CHARTS = {
    "curves": lambda: charts.curves_chart({"MLP": EPOCHS, "CNN": EPOCHS}, "loss"),
    "confusion": lambda: charts.confusion_chart([[3, 1], [0, 4]], ["cat", "dog"], "MLP"),
    "probability bars": lambda: charts.probability_bars(np.array([0.2, 0.8]), ["cat", "dog"]),
    "signed bars": lambda: charts.signed_bars(np.array([-1.5, 0.0, 2.0]), range(3), "unit", "activation"),
    "attention": lambda: gpt_views.attention_chart(np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None], "abcd",
                                                   "Head 1"),
    "loss by step": lambda: charts.curves_chart({"GPT": history_from_curve([EvalPoint(0, 4.0, 4.1, 0.0),
                                                                            EvalPoint(10, 2.0, 2.2, 1.0)]).epochs},
                                                "loss", unit="step"),
}


@pytest.mark.parametrize("make", CHARTS.values(), ids=CHARTS.keys())
def test_every_kind_of_chart_converts_to_png_and_svg(make):
    chart = make()
    png = _png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    svg = _svg(chart)
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg


def test_compare_offers_png_and_svg_beside_every_chart(app):
    train_two_digits_runs()
    open_page(app, "pages/compare.py")
    n_charts = len(app.get("vega_lite_chart"))
    labels = [d.proto.label for d in app.get("download_button")]
    assert n_charts >= 5  # two curves, two confusion matrices, one test item's distribution
    assert labels.count("PNG") == labels.count("SVG") == n_charts
