"""Playground: your own drawing, text or recording against every chosen model, side by side."""

import html

import numpy as np
import pandas as pd
import streamlit as st
import torch

from nnapps.charts import results as charts
from nnapps.models import get_family
from nnapps.models.rnn import RNNClassifier
from nnapps.analysis.playground import (InputError, ImageTarget, as_batch, best_per_family, canvas_pixels, check_text,
                               picture_pixels, predict_all, prepare_image, prepare_sound,
                               recording_samples, tokens_seen)
from nnapps.analysis.recurrent import memory_by_word
from nnapps.ui import state
from nnapps.ui.charts_out import show_chart
from nnapps.ui.escape import dataset_title, escape
from nnapps.ui.images import display_scale, to_pil
from nnapps.ui.links_view import apply_link, copy_link, follow_link, sync_link
from nnapps.ui.nav import page_link, switch_page
from nnapps.ui.progress import live_progress
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_runs
from nnapps.ui.services import cached_dataset, get_store, load_predictors
from nnapps.ui.sidebar import dataset_picker
from nnapps.ui.sounds import spectrograms, to_picture
from nnapps.ui.visitor import visitor

SPLIT_SEED = 0
CANVAS_PX = 280
RESULTS_PER_ROW = 4
MAX_UPLOAD_MB = 20
LAST_ITEM = "playground_last_item"   # dataset name -> the last input that worked
CANVAS_ROUND = "playground_canvas_round"  # bumped by Clear: a new canvas key starts empty

state.init_state()
spec = dataset_picker()
store = get_store()

st.title("Playground")
st.markdown("Give every model the same input of yours and see what each one makes of it: a "
            "probability for every class, the most probable one taken as the answer.")

linked = apply_link("playground", spec.name, store, SPLIT_SEED)
live_progress(spec.name, show_curves=False)
stored = store.list_runs(spec.name, SPLIT_SEED, visitor=visitor())
runs = [r for r in stored if r.status == "complete"]
if not runs:
    st.info(f"No trained models on {dataset_title(spec)} yet.")
    page_link("pages/train.py", "Train some models", ":material/model_training:")
    st.stop()
# Named and coloured among every stored run, as on the other pages.
looks = RunLooks.of(stored)
labels = looks.labels
by_id = {r.run_id: r for r in runs}
runs_key = f"playground_runs_{spec.name}"
follow_link("playground", runs_key, linked, by_id)
# A default beside a value set through session state (a link's runs) would warn: one or the other.
best = None if runs_key in st.session_state else [r.run_id for r in best_per_family(runs)]
chosen_ids = pick_runs("Models", list(by_id), looks, key=runs_key, default=best,
                       help="At first, the best run of each model family")
sync_link("playground", [by_id[i].config for i in chosen_ids])
copy_link()
if not chosen_ids:
    st.info("Pick at least one model.")
    st.stop()
predictors, problems = load_predictors(chosen_ids, labels)
for problem in problems:
    st.warning(escape(problem))
if not predictors:
    st.stop()
class_names = by_id[chosen_ids[0]].class_names


@st.cache_data(max_entries=4, show_spinner=False)
def image_target(name: str) -> ImageTarget:
    return ImageTarget.of(cached_dataset(name, SPLIT_SEED).X_train)


def clear_canvas() -> None:
    st.session_state[CANVAS_ROUND] = st.session_state.get(CANVAS_ROUND, 0) + 1


def image_input():
    """The drawing or picture as the dataset's images are; None while the canvas is empty."""
    target = image_target(spec.name)
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
                                    max_upload_size=MAX_UPLOAD_MB)
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


def token_view(text: str) -> None:
    """The tokens each distinct tokenizer reads; words outside its vocabulary are struck out."""
    groups: dict[str, list[str]] = {}
    for name, predictor in predictors.items():
        groups.setdefault(repr(predictor.preprocessor.to_state()), []).append(name)
    for names in groups.values():
        tokenizer = predictors[names[0]].preprocessor
        seen, dropped = tokens_seen(text, tokenizer)
        spans = "".join(
            f'<span style="padding:1px 4px;margin:2px;border-radius:4px;background:#eef2f5">{html.escape(t)}</span>'
            if known else
            f'<span title="not in the vocabulary: read as &lt;unk&gt;" style="padding:1px 4px;margin:2px;'
            f'border-radius:4px;background:#fde2dd;text-decoration:line-through">{html.escape(t)}</span>'
            for t, known in seen)
        unknown = sum(not known for _, known in seen)
        st.markdown(f"**Tokens read by {', '.join(names)}**: {len(seen)} tokens, {unknown} outside the "
                    f"vocabulary (struck out)" + (f", {dropped} past the limit not read" if dropped else ""))
        st.html(f'<div style="line-height:2">{spans}</div>')


def text_input():
    # A one-line input answers on Enter (a text area waits for Ctrl+Enter). The example is one
    # that both models of Home's reviews example classify right (positive: GRU 100%, TF-IDF 56%).
    text = st.text_input("Your text (press Enter)", key="playground_text",
                         placeholder="For example: the screen is far from perfect, but the battery "
                                     "never lets me down")
    if not text.strip():
        st.info("Type or paste some text: each model gives its probability for every class.")
        return None
    text = check_text(text)
    token_view(text)
    return text


def sound_input():
    how = st.segmented_control("Input", ["Record", "Upload a file"], default="Record", required=True,
                               key="playground_sound_input")
    if how == "Record":
        recording = st.audio_input("Record a sound (say a digit)", key="playground_record")
    else:
        recording = st.file_uploader("WAV, FLAC or OGG file", type=["wav", "flac", "ogg"], key="playground_sound",
                                     max_upload_size=MAX_UPLOAD_MB)
    if recording is None:
        return None
    samples, rate = recording_samples(recording.getvalue(), recording.name or "recording.wav")
    pre = predictors[next(iter(predictors))].preprocessor
    clip = prepare_sound(samples, rate, pre.sample_rate, pre.n_samples_)
    left, right = st.columns(2)
    step = max(1, len(clip) // 1000)
    wave = pd.DataFrame({"seconds": np.arange(0, len(clip), step) / pre.sample_rate, "amplitude": clip[::step]})
    left.markdown("**What the models hear**")
    left.line_chart(wave, x="seconds", y="amplitude", height=160)
    left.audio(clip, sample_rate=pre.sample_rate)
    right.markdown("**Its spectrogram**")
    right.image(to_picture(spectrograms(clip, pre.sample_rate)[0], scale=3), width="stretch")
    right.caption(f"{len(clip) / pre.sample_rate:.1f} s at {pre.sample_rate:,} Hz, mono: the loudest "
                  "stretch of the recording, as long as the training clips")
    return clip


INPUTS = {"image": image_input, "text": text_input, "audio": sound_input}
INPUT_WORDS = {"image": "drawing", "text": "sentence", "audio": "recording"}
last_items = st.session_state.setdefault(LAST_ITEM, {})
try:
    item = INPUTS[spec.modality]()
except InputError as err:
    st.error(escape(err))
    item = last_items.get(spec.name)
    if item is not None:
        st.caption("Below: the results for your last input that worked.")
if item is None:
    st.stop()
last_items[spec.name] = item

probas = predict_all(predictors, item)
st.subheader("What each model says")
tops = {name: int(np.argmax(p)) for name, p in probas.items()}
summary = " · ".join(f"{name} → **{escape(class_names[i])}** ({probas[name][i]:.0%})" for name, i in tops.items())
agree = len(set(tops.values())) == 1
st.markdown(summary + ("  \nAll models agree." if agree or len(tops) == 1 else "  \n**The models disagree.**"))
names = list(probas)
id_of = {labels[i]: i for i in chosen_ids}
for start in range(0, len(names), RESULTS_PER_ROW):
    for col, name in zip(st.columns(RESULTS_PER_ROW), names[start:start + RESULTS_PER_ROW]):
        with col.container(border=True):
            st.markdown(f"**{name}**")
            st.metric("prediction", escape(class_names[tops[name]]), f"{probas[name][tops[name]]:.0%} sure",
                      delta_color="off", delta_arrow="off")
            run = by_id[id_of[name]]
            show_chart(charts.probability_bars(probas[name], class_names, colour=looks.colours[run.run_id]),
                       f"playground-{name}", width="stretch")
            if get_family(run.config.family).kind == "torch" and st.button(
                    f"Look inside with this {INPUT_WORDS[spec.modality]}", key=f"playground_inside_{run.run_id}",
                    icon=":material/neurology:", help="The Inside page's forward pass, for this input"):
                st.session_state[state.OWN_INPUT] = {spec.name: item}
                st.session_state[f"inside_run_{spec.name}"] = run.run_id
                switch_page("pages/inside.py")

# A recurrent network's memory word by word, for the text just read.
recurrent = {name: p for name, p in predictors.items() if isinstance(p.model, RNNClassifier)}
if spec.modality == "text" and recurrent:
    st.subheader("Word by word")
    st.markdown("A GRU or LSTM reads one word at a time and carries a memory: below, what it would "
                "predict had the text ended at each word, and its memory after each word.")
    for name, predictor in recurrent.items():
        ids = torch.as_tensor(predictor.preprocessor.transform(as_batch(item)))[0]
        tokens = [t for t, _ in tokens_seen(item, predictor.preprocessor)[0]]
        if not tokens:
            continue
        memory = memory_by_word(predictor.model, ids, tokens)
        with st.container(border=True):
            st.markdown(f"**{name}**")
            show_chart(charts.memory_chart(memory.tokens, memory.states_, memory.probas_, class_names),
                       f"memory-{name}")
