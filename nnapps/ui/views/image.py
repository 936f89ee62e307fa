"""How images are drawn: thumbnails per class, a thumbnail column, the picture beside its
probabilities, and the Playground's canvas or uploaded picture as the models see it."""

import numpy as np
import pandas as pd
import streamlit as st

from nnapps.analysis.playground import ImageTarget, canvas_pixels, picture_pixels, prepare_image
from nnapps.ui.escape import escape
from nnapps.ui.images import data_uri, display_scale, to_pil
from nnapps.ui.services import cached_dataset
from nnapps.ui.views import table
from nnapps.ui.views.view import OWN_FILE_MB, ModalityView, nothing_more

IMAGES_PER_CLASS = 8
CANVAS_PX = 280
CANVAS_ROUND = "playground_canvas_round"  # bumped by Clear: a new canvas key starts empty


def data_metric(col, dataset) -> None:
    col.metric("Input", " x ".join(str(d) for d in dataset.input_shape), help="channels x height x width")


def data_examples(dataset, max_classes: int) -> None:
    X, y = dataset.split("train")
    rng = np.random.default_rng(0)
    for i, name in enumerate(dataset.class_names[:max_classes]):
        idx = np.flatnonzero(y == i)
        picks = rng.choice(idx, size=min(IMAGES_PER_CLASS, len(idx)), replace=False) if len(idx) else []
        row = st.columns([1, 8])
        row[0].markdown(f"**{escape(name)}**  \n{len(idx):,} images")
        if len(picks):
            scale = display_scale(X[picks[0]], 64)
            row[1].image([to_pil(X[j], scale) for j in picks])


def thumbnails(items: list[np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """The image column that leads Compare's sample table, and its config."""
    return (pd.DataFrame({"image": [data_uri(x) for x in items]}),
            {"image": st.column_config.ImageColumn("image", width="small")})


def sample_rows(shown: pd.DataFrame, X: np.ndarray, run_names: list[str], spec) -> int:
    return table.probability_dataframe(shown, X, run_names, thumbnails)


def sample_view(item: np.ndarray, spec):
    pic, dist = st.columns([1, 4])
    pic.image(to_pil(item, display_scale(item, 160)))
    return dist


def map_tooltip(items: np.ndarray, spec) -> tuple[str, list[str]]:
    return "image", [data_uri(x, 64) for x in items]


@st.cache_data(max_entries=4, show_spinner=False)
def image_target(name: str, split_seed: int) -> ImageTarget:
    return ImageTarget.of(cached_dataset(name, split_seed).X_train)


def clear_canvas() -> None:
    st.session_state[CANVAS_ROUND] = st.session_state.get(CANVAS_ROUND, 0) + 1


def own_input(spec, predictors, split_seed: int):
    """The drawing or picture as the dataset's images are; None while the canvas is empty."""
    target = image_target(spec.name, split_seed)
    how = st.segmented_control("Input", ["Draw", "Upload a picture"], default="Draw", required=True,
                               key="playground_image_input")
    left, right = st.columns(2)
    if how == "Draw":
        from streamlit_drawable_canvas import st_canvas  # a component: only this page needs it

        with left:
            brush = st.slider("Brush size", 4, 40, 20, key="playground_brush")
            canvas = st_canvas(stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000",
                               width=CANVAS_PX, height=CANVAS_PX, drawing_mode="freedraw",
                               return_image_data=True,
                               key=f"playground_canvas_{st.session_state.get(CANVAS_ROUND, 0)}")
            st.button("Clear", on_click=clear_canvas, icon=":material/ink_eraser:")
        rgba = canvas.image_data  # decoded from the component's PNG on each access: once here
        if rgba is None or not canvas_pixels(rgba).any():
            right.info("Draw a digit (or whatever the classes are) with the mouse or a finger.")
            return None
        pixels = canvas_pixels(rgba, target)
    else:
        upload = left.file_uploader("PNG or JPEG picture", type=["png", "jpg", "jpeg"], key="playground_picture",
                                    max_upload_size=OWN_FILE_MB)
        if upload is None:
            return None
        pixels = picture_pixels(upload.getvalue(), upload.name)
        left.image(upload.getvalue(), width=CANVAS_PX)
    item = prepare_image(pixels, target)
    right.markdown("**What the models see**")
    right.image(to_pil(item, display_scale(item, CANVAS_PX)))
    right.caption(f"{' x '.join(map(str, item.shape[1:]))} pixels"
                  + (": cropped to the ink, scaled and centred like the training images"
                     if target.ink_on_dark else ": scaled to fit and padded like the training images"))
    return item


def forward_item(item: np.ndarray, spec) -> None:
    st.image(to_pil(item, display_scale(item, 120)))


VIEW = ModalityView(
    input_word="drawing",
    data_metric=data_metric, data_examples=data_examples,
    rows_caption=table.rows_caption, sample_rows=sample_rows, sample_view=sample_view,
    sample_details=nothing_more, map_tooltip=map_tooltip,
    own_input=own_input, own_input_more=nothing_more,
    forward_item=forward_item,
)
