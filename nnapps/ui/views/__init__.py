"""The view registry: for each modality, how its samples are drawn on every page. A page asks
view_for(spec.modality) and calls its slots (see view.ModalityView); it never branches on a
modality's name."""

from nnapps.ui.views import audio, image, text
from nnapps.ui.views.view import ModalityView

VIEWS: dict[str, ModalityView] = {"image": image.VIEW, "text": text.VIEW, "audio": audio.VIEW}


def view_for(modality: str) -> ModalityView:
    """The view of a modality; ValueError naming the known ones for any other."""
    if modality not in VIEWS:
        raise ValueError(f"no view for modality {modality!r}; valid: {sorted(VIEWS)}")
    return VIEWS[modality]
