"""How sounds are drawn: a spectrogram and a player each, per class and per test sample, and the
Playground's recording as the models hear it."""

import numpy as np
import pandas as pd
import streamlit as st

from nnapps.analysis.evaluation import shown_rows
from nnapps.analysis.playground import prepare_sound, recording_samples
from nnapps.ui.escape import escape
from nnapps.ui.images import png_uri
from nnapps.ui.sounds import spectrograms, to_picture
from nnapps.ui.views.view import OWN_FILE_MB, ModalityView, nothing_more

SOUNDS_PER_CLASS = 3
SOUNDS_PER_PAGE = 8
AUDIO_SAMPLE = "compare_audio_sample"  # the test sound picked for details


def data_metric(col, dataset) -> None:
    rate = dataset.spec.sample_rate
    col.metric("Clip length", f"{dataset.split('train')[0].shape[1] / rate:.1f} s",
               help=f"mono, {rate:,} samples per second")


def made_voices_note() -> None:
    """For the made spoken digits: which voices the splits hold, from the generator's manifest."""
    from nnapps.data.spoken_digits import voices
    table = pd.DataFrame(voices())
    held_out = sorted(set(table.loc[table["split"] == "test", "variant"]))
    st.caption(f"{table['voice'].nunique()} voices: {table['accent'].nunique()} accents x "
               f"{table['variant'].nunique()} voice variants. The test split's {len(held_out)} "
               f"variants are never heard in training: {', '.join(held_out)}.")


def data_examples(dataset, max_classes: int) -> None:
    if dataset.spec.name == "spoken-digits":
        made_voices_note()
    X, y = dataset.split("train")
    rate = dataset.spec.sample_rate
    st.caption("Each picture is a spectrogram: time runs left to right, pitch rises from bottom to "
               "top, and brighter means louder. The CNN and the GRU take one like it as input (with "
               "the window, hop and bands set on the Train page).")
    rng = np.random.default_rng(0)
    for i, name in enumerate(dataset.class_names[:max_classes]):
        idx = np.flatnonzero(y == i)
        picks = rng.choice(idx, size=min(SOUNDS_PER_CLASS, len(idx)), replace=False) if len(idx) else []
        row = st.columns([1, 3, 3, 3])
        row[0].markdown(f"**{escape(name)}**  \n{len(idx):,} sounds")
        for col, j, db in zip(row[1:], picks, spectrograms(X[picks], rate) if len(picks) else []):
            col.image(to_picture(db), width="stretch")
            col.audio(X[j], sample_rate=rate)


def rows_caption(n_shown: int) -> str:
    # Sounds come a page at a time; a table of all the rest would be slow to send.
    return ". Press Details beside a sound"


def choose_sound(sample: int) -> None:
    st.session_state[AUDIO_SAMPLE] = sample


def sample_rows(shown: pd.DataFrame, X: np.ndarray, run_names: list[str], spec) -> int:
    """A page of test sounds, each with a player, its spectrogram and every model's prediction;
    returns the sample picked for details."""
    rate = spec.sample_rate
    n_pages = max(1, -(-len(shown) // SOUNDS_PER_PAGE))
    page = (st.columns([1, 4])[0].number_input(f"Page (of {n_pages})", 1, n_pages, 1, key="sound_page")
            if n_pages > 1 else 1)
    rows = shown_rows(shown.iloc[(page - 1) * SOUNDS_PER_PAGE:page * SOUNDS_PER_PAGE], run_names)
    widths = [3, 1] + [1.5] * len(run_names)
    header = st.columns(widths)
    for col, title in zip(header, ["sound", "true"] + run_names):
        col.markdown(f"**{title}**")
    pictures = spectrograms(X[rows["#"].to_numpy()], rate)
    for (_, row), db in zip(rows.iterrows(), pictures):
        sample = int(row["#"])
        cols = st.columns(widths, vertical_alignment="center")
        cols[0].image(to_picture(db), width="stretch")
        cols[0].audio(X[sample], sample_rate=rate)
        cols[1].markdown(f"#{sample}  \n**{escape(row['true'])}**")
        cols[1].button("Details", key=f"sound_details_{sample}", on_click=choose_sound, args=(sample,))
        for col, n in zip(cols[2:], run_names):
            col.markdown(escape(row[n]))
            col.progress(float(row[f"{n} p"]), text=f"{row[f'{n} p']:.0%}")
    picked = st.session_state.get(AUDIO_SAMPLE)
    return picked if picked in set(shown["index"]) else int(rows["#"].iloc[0])


def sample_view(item: np.ndarray, spec):
    pic, dist = st.columns([2, 3])
    pic.image(to_picture(spectrograms(item, spec.sample_rate)[0], scale=3), width="stretch")
    pic.audio(item, sample_rate=spec.sample_rate)
    return dist


def map_tooltip(items: np.ndarray, spec) -> tuple[str, list[str]]:
    # A tooltip cannot play a sound: it shows the clip's spectrogram, and a click lists the
    # sample below, with its player.
    return "image", [png_uri(to_picture(db, scale=1)) for db in spectrograms(items, spec.sample_rate)]


def own_input(spec, predictors, split_seed: int):
    """The recording or sound file cut and resampled as the training clips are; None until given."""
    how = st.segmented_control("Input", ["Record", "Upload a file"], default="Record", required=True,
                               key="playground_sound_input")
    if how == "Record":
        recording = st.audio_input("Record a sound (say a digit)", key="playground_record")
    else:
        recording = st.file_uploader("WAV, FLAC or OGG file", type=["wav", "flac", "ogg"], key="playground_sound",
                                     max_upload_size=OWN_FILE_MB)
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


def forward_item(item: np.ndarray, spec) -> None:
    st.image(to_picture(spectrograms(item, spec.sample_rate)[0]))
    st.audio(item, sample_rate=spec.sample_rate)


VIEW = ModalityView(
    input_word="recording",
    data_metric=data_metric, data_examples=data_examples,
    rows_caption=rows_caption, sample_rows=sample_rows, sample_view=sample_view,
    sample_details=nothing_more, map_tooltip=map_tooltip,
    own_input=own_input, own_input_more=nothing_more,
    forward_item=forward_item,
)
