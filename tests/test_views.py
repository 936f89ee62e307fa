"""The view registry (nnapps/ui/views): every modality has a complete view, and the pages ask it
instead of branching on a modality's name."""

import re
import typing
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from nnapps.data import dataset_specs
from nnapps.data.dataset import MODALITIES
from nnapps.ui.views import VIEWS, view_for
from nnapps.ui.views.view import ModalityView

ROOT = Path(__file__).resolve().parents[1]
# A comparison of a modality with a literal name: `spec.modality == "text"`, `modality != 'audio'`.
NAMED_MODALITY = re.compile(r"modality\s*[!=]=\s*[\"']|[\"']\s*[!=]=\s*\w*\.?modality\b")


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_modality_has_a_complete_view(modality):
    view = view_for(modality)
    assert isinstance(view, ModalityView)
    hints = typing.get_type_hints(ModalityView)
    for slot in fields(ModalityView):
        value = getattr(view, slot.name)
        if hints[slot.name] is str:
            assert isinstance(value, str) and value.strip(), f"{modality}: {slot.name} is empty"
        else:
            assert callable(value), f"{modality}: slot {slot.name} is not callable"


def test_the_registry_holds_exactly_the_modalities():
    assert set(VIEWS) == set(MODALITIES)


def test_an_unknown_modality_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="'nope'.*audio.*image.*text"):
        view_for("nope")


def _items(spec, n: int):
    """n small inputs shaped like the spec's samples."""
    rng = np.random.default_rng(0)
    return {"image": lambda: rng.random((n, 1, 8, 8), dtype=np.float32),
            "text": lambda: np.array([f"sample {i} " * 40 for i in range(n)], dtype=object),
            "audio": lambda: rng.standard_normal((n, spec.sample_rate // 4)).astype(np.float32)}[spec.modality]()


@pytest.mark.parametrize("modality", MODALITIES)
def test_the_agreement_maps_tooltip_is_one_the_chart_shows_one_per_sample(modality):
    spec = next(s for s in dataset_specs().values() if s.modality == modality)
    column, tooltips = view_for(modality).map_tooltip(_items(spec, 3), spec)
    # compare_charts.agreement_chart puts an "image" (a data URI) or a "text" column in its tooltip.
    assert column in ("image", "text")
    assert len(tooltips) == 3 and all(isinstance(t, str) and t for t in tooltips)
    if column == "image":
        assert all(t.startswith("data:image/png;base64,") for t in tooltips)
    else:
        assert all(len(t) <= 120 for t in tooltips)


@pytest.mark.parametrize("modality", MODALITIES)
def test_compares_caption_says_how_to_pick_a_sample(modality):
    caption = view_for(modality).rows_caption(10)
    assert caption.startswith(". ") and ("Click" in caption or "Press" in caption)


def test_the_pages_hold_no_modality_branches():
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted((ROOT / "pages").glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), start=1) if "modality ==" in line
             or "modality !=" in line or NAMED_MODALITY.search(line)]
    assert not found, "pages branch on a modality; ask nnapps.ui.views.view_for instead:\n" + "\n".join(found)


def test_the_ui_asks_the_registry_rather_than_naming_modalities():
    ui = ROOT / "nnapps" / "ui"
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sorted(ui.rglob("*.py")) if "views" not in path.relative_to(ui).parts
             for n, line in enumerate(path.read_text().splitlines(), start=1) if NAMED_MODALITY.search(line)]
    assert not found, "nnapps/ui branches on a modality's name:\n" + "\n".join(found)


def test_the_branch_finder_finds_branches():
    # The two tests above pass on code without branches only if this pattern catches them.
    for line in ('if spec.modality == "image":', "elif modality != 'audio':", 'if "text" == spec.modality:'):
        assert NAMED_MODALITY.search(line), line
    assert not NAMED_MODALITY.search("if modality is None or s.modality == modality")
