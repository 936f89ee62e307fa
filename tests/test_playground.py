"""The Playground's processing (nnapps.analysis.playground), without Streamlit.

The key promise: an item of the test split fed through the Playground's path gets exactly
the probabilities the run stored for it. Around it, the first step that makes a person's
drawing, picture, text or recording into the dataset's form is checked on crafted inputs.
"""

import dataclasses
import io

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, ImageDraw
from scipy import ndimage

from nnapps.features.text import TextTokenizer
from nnapps.training.pipeline import Predictor, train_run
from nnapps.analysis.playground import (MAX_RECORDING_S, MAX_TEXT_CHARS, MIN_RECORDING_S, STROKE_LEVEL, ImageTarget,
                               InputError, best_per_family, canvas_pixels, check_text, is_light_ground,
                               picture_pixels, predict_all, prepare_image, prepare_sound, recording_samples,
                               tokens_seen)
from nnapps.store.runs import RunConfig, RunStore

ITEMS = (0, 1, 7, 42, 133)  # test items checked in each modality


# --- runs ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One run store for this module's runs (train_run returns a stored complete run at once)."""
    return RunStore(tmp_path_factory.mktemp("playground_runs"))


@pytest.fixture(scope="module")
def digits_runs(store, digits):
    configs = [RunConfig.make("digits", "logreg"),
               RunConfig.make("digits", "mlp", {"width": 8, "n_layers": 1}, train={"epochs": 1}),
               RunConfig.make("digits", "mlp", {"width": 32}, train={"epochs": 2}),
               RunConfig.make("digits", "cnn", {"channels": 4}, train={"epochs": 1})]
    return [train_run(c, store, dataset=digits) for c in configs]


@pytest.fixture(scope="module")
def reviews_runs(store, reviews):
    configs = [RunConfig.make("reviews", "tfidf"),
               RunConfig.make("reviews", "boe", {"embed_dim": 16, "width": 16}, train={"epochs": 1}),
               RunConfig.make("reviews", "textcnn", {"embed_dim": 16, "channels": 8}, train={"epochs": 1},
                              features={"max_len": 32})]
    return [train_run(c, store, dataset=reviews) for c in configs]


@pytest.fixture(scope="module")
def sound_runs(store, spoken_digits):
    features = {"n_mels": 16}
    configs = [RunConfig.make("spoken-digits", "pooled-logreg", features=features),
               RunConfig.make("spoken-digits", "pooled-mlp", train={"epochs": 1}, features=features),
               RunConfig.make("spoken-digits", "cnn", {"n_blocks": 2, "channels": 4}, train={"epochs": 1},
                              features=features)]
    return [train_run(c, store, dataset=spoken_digits) for c in configs]


def with_accuracy(run, accuracy: float, status: str = "complete"):
    return dataclasses.replace(run, status=status, metrics={**run.metrics, "accuracy": accuracy})


def test_best_per_family_takes_each_familys_most_accurate_complete_run(digits_runs):
    logreg, narrow, wide, cnn = digits_runs
    assert all(r.status == "complete" for r in digits_runs)
    assert narrow.run_id != wide.run_id
    best_mlp = wide if wide.metrics["accuracy"] > narrow.metrics["accuracy"] else narrow
    assert [r.run_id for r in best_per_family(digits_runs)] == [logreg.run_id, best_mlp.run_id, cnn.run_id]

    # Accuracies set by hand, so either order of the two MLPs is checked whatever training gave.
    low, high = with_accuracy(narrow, 0.5), with_accuracy(wide, 0.9)
    assert [r.run_id for r in best_per_family([low, logreg, high])] == [wide.run_id, logreg.run_id]
    assert best_per_family([low, logreg, high])[0] is high
    assert best_per_family([with_accuracy(narrow, 0.95), high])[0].run_id == narrow.run_id
    # Equal accuracy: the first one seen stays.
    assert best_per_family([with_accuracy(narrow, 0.9), high])[0].run_id == narrow.run_id


def test_best_per_family_ignores_stopped_runs(digits_runs):
    logreg, narrow, wide, cnn = digits_runs
    stopped = with_accuracy(narrow, 1.0, status="stopped")
    complete = with_accuracy(wide, 0.6)
    assert best_per_family([stopped, complete, logreg]) == [complete, logreg]
    assert best_per_family([with_accuracy(cnn, 1.0, status="stopped")]) == []
    assert best_per_family([]) == []


# --- the key promise: a test item gets the run's stored probabilities ------------------------

def test_a_digits_test_item_gets_the_runs_stored_probabilities(digits_runs, store, digits):
    target = ImageTarget.of(digits.X_train)
    predictors = {r.label: Predictor(r, store) for r in digits_runs}
    for i in ITEMS:
        item = prepare_image(digits.X_test[i].transpose(1, 2, 0), target)
        np.testing.assert_array_equal(item, digits.X_test[i])
        probas = predict_all(predictors, item)
        assert list(probas) == list(predictors)
        for run in digits_runs:
            assert probas[run.label].shape == (10,)
            np.testing.assert_allclose(probas[run.label], run.test_proba[i], rtol=0, atol=1e-6)


def test_a_reviews_test_text_gets_the_runs_stored_probabilities(reviews_runs, store, reviews):
    predictors = {r.label: Predictor(r, store) for r in reviews_runs}
    for i in ITEMS:
        probas = predict_all(predictors, check_text(reviews.X_test[i]))
        for run in reviews_runs:
            assert probas[run.label].shape == (2,)
            np.testing.assert_allclose(probas[run.label], run.test_proba[i], rtol=0, atol=1e-6)


def test_a_spoken_digits_test_clip_gets_the_runs_stored_probabilities(sound_runs, store, spoken_digits):
    predictors = {r.label: Predictor(r, store) for r in sound_runs}
    for i in ITEMS:
        clip = prepare_sound(spoken_digits.X_test[i], 8000, 8000, 8000)
        np.testing.assert_array_equal(clip, spoken_digits.X_test[i])
        probas = predict_all(predictors, clip)
        for run in sound_runs:
            np.testing.assert_allclose(probas[run.label], run.test_proba[i], rtol=0, atol=1e-6)


def test_a_test_clip_uploaded_as_a_float_wav_gets_the_runs_stored_probabilities(sound_runs, store,
                                                                               spoken_digits):
    """The whole upload path: file bytes, decoding, fitting, the run's preprocessor and model."""
    run = sound_runs[0]
    predictor = Predictor(run, store)
    for i in ITEMS[:2]:
        wav = io.BytesIO()
        sf.write(wav, spoken_digits.X_test[i], 8000, format="WAV", subtype="FLOAT")
        samples, rate = recording_samples(wav.getvalue(), "clip.wav")
        assert rate == 8000
        clip = prepare_sound(samples, rate, predictor.preprocessor.sample_rate, predictor.preprocessor.n_samples_)
        np.testing.assert_allclose(predict_all({"run": predictor}, clip)["run"], run.test_proba[i],
                                   rtol=0, atol=1e-6)


# --- images --------------------------------------------------------------------------------

MNIST_LIKE = ImageTarget((1, 28, 28), True, 20 / 28)


def ink_extent(frame: np.ndarray) -> float:
    """The strong ink's bounding box's longer side as a share of the frame's longer side."""
    rows, cols = np.flatnonzero((frame > STROKE_LEVEL).any(1)), np.flatnonzero((frame > STROKE_LEVEL).any(0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / max(frame.shape)


def drawing(ink: int = 255, ground: int = 0, size: int = 280, width: int = 24) -> np.ndarray:
    """A thick "V" stroke in the top-left corner of a large canvas, as (H, W, 1) floats."""
    picture = Image.new("L", (size, size), ground)
    pen = ImageDraw.Draw(picture)
    pen.line([(20, 30), (60, 120), (90, 40)], fill=ink, width=width, joint="curve")
    return (np.asarray(picture, dtype=np.float32) / 255.0)[:, :, None]


def test_an_off_centre_drawing_is_centred_by_its_mass_and_scaled_like_the_dataset():
    item = prepare_image(drawing(), MNIST_LIKE)
    assert item.shape == MNIST_LIKE.shape and item.dtype == np.float32
    cy, cx = ndimage.center_of_mass(item[0])
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1, (cy, cx)
    assert ink_extent(item[0]) == pytest.approx(MNIST_LIKE.ink_extent, abs=1 / 28)
    assert item.min() >= 0 and item.max() == 1.0
    # The frame's border stays dark, as in the dataset.
    assert item[0, 0].max() < 0.2 and item[0, -1].max() < 0.2


def test_a_drawing_is_scaled_to_the_targets_ink_extent():
    for extent in (0.5, 0.9):
        item = prepare_image(drawing(), ImageTarget((1, 28, 28), True, extent))
        assert ink_extent(item[0]) == pytest.approx(extent, abs=1 / 28)


def test_a_faint_stroke_is_brightened_to_full_ink():
    item = prepare_image(drawing(ink=120), MNIST_LIKE)
    assert item.max() == 1.0
    np.testing.assert_allclose(item, prepare_image(drawing(ink=255), MNIST_LIKE), atol=0.05)


def test_dark_ink_on_a_light_picture_is_inverted():
    direct, inverted = drawing(), drawing(ink=0, ground=255)
    assert not is_light_ground(direct[:, :, 0]) and is_light_ground(inverted[:, :, 0])
    light = prepare_image(inverted, MNIST_LIKE)
    assert light[0, 0].max() < 0.2 and light.max() == 1.0  # light ink on a dark ground
    np.testing.assert_allclose(light, prepare_image(direct, MNIST_LIKE), atol=1e-3)


def test_an_rgb_drawing_goes_to_a_grey_item():
    grey = drawing()
    item = prepare_image(np.repeat(grey, 3, axis=2), MNIST_LIKE)
    assert item.shape == (1, 28, 28)
    np.testing.assert_allclose(item, prepare_image(grey, MNIST_LIKE), atol=1e-6)


def test_an_empty_canvas_is_refused():
    for empty in (np.zeros((280, 280, 1), np.float32), np.ones((280, 280, 1), np.float32)):
        with pytest.raises(InputError, match="Nothing is drawn"):
            prepare_image(empty, MNIST_LIKE)


def test_a_picture_not_shaped_like_a_picture_is_refused():
    with pytest.raises(InputError, match="height, width, channels"):
        prepare_image(np.zeros((28, 28), np.float32), MNIST_LIKE)


def test_an_item_of_the_datasets_size_is_taken_as_it_is(digits):
    target = ImageTarget.of(digits.X_train)
    raw = np.random.default_rng(0).uniform(0, 0.6, size=(8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(prepare_image(raw, target), raw.transpose(2, 0, 1))  # not brightened
    rgb = ImageTarget((3, 8, 8), False, 1.0)
    np.testing.assert_array_equal(prepare_image(raw, rgb), np.repeat(raw.transpose(2, 0, 1), 3, axis=0))


def test_a_wide_picture_is_fitted_and_padded_for_a_photo_dataset():
    target = ImageTarget((3, 32, 32), False, 1.0)
    pixels = np.zeros((50, 100, 3), np.float32)
    pixels[:] = (0.0, 0.0, 1.0)          # blue ground
    pixels[15:35, 40:60] = (1.0, 0.0, 0.0)  # a red square in the middle
    item = prepare_image(pixels, target)
    assert item.shape == (3, 32, 32) and item.dtype == np.float32
    # Scaled to 32 x 16, centred, the 8 rows above and below padded with the border's colour.
    for rows in (item[:, :8], item[:, 24:]):
        np.testing.assert_allclose(rows, np.broadcast_to(np.array([0, 0, 1.0])[:, None, None], rows.shape),
                                   atol=1 / 255)
    np.testing.assert_allclose(item[:, 16, 16], [1, 0, 0], atol=0.02)
    np.testing.assert_allclose(item[:, 16, 2], [0, 0, 1], atol=0.02)


def test_channels_follow_the_dataset():
    rgb = np.random.default_rng(1).uniform(size=(40, 60, 3)).astype(np.float32)
    grey = prepare_image(rgb, ImageTarget((1, 16, 16), False, 1.0))
    colour = prepare_image(rgb, ImageTarget((3, 16, 16), False, 1.0))
    assert grey.shape == (1, 16, 16) and colour.shape == (3, 16, 16)
    np.testing.assert_allclose(grey[0], colour.mean(axis=0), atol=1e-6)  # RGB averaged to grey

    one = np.random.default_rng(2).uniform(size=(40, 60, 1)).astype(np.float32)
    repeated = prepare_image(one, ImageTarget((3, 16, 16), False, 1.0))
    assert repeated.shape == (3, 16, 16)
    np.testing.assert_array_equal(repeated[0], repeated[1])
    np.testing.assert_array_equal(repeated[0], repeated[2])
    np.testing.assert_array_equal(repeated[:1], prepare_image(one, ImageTarget((1, 16, 16), False, 1.0)))


def test_image_target_of_digits(digits):
    target = ImageTarget.of(digits.X_train)
    assert target.shape == (1, 8, 8)
    assert target.ink_on_dark is True
    assert 0 < target.ink_extent <= 1


def test_image_target_of_pictures_on_a_bright_ground():
    rng = np.random.default_rng(0)
    X = np.full((20, 3, 16, 16), 0.9, np.float32)
    X[:, :, 4:12, 4:12] = rng.uniform(0, 0.3, size=(20, 3, 8, 8))
    target = ImageTarget.of(X)
    assert target == ImageTarget((3, 16, 16), False, 1.0, light_ground=True)
    grey = ImageTarget.of(X[:, :1])
    assert grey.shape == (1, 16, 16) and grey.ink_on_dark is False and grey.light_ground is True
    # Colour pictures are never taken for ink, even on a dark ground (a night sky is no stroke).
    assert ImageTarget.of(1.0 - X) == ImageTarget((3, 16, 16), False, 1.0, light_ground=False)


def test_a_drawing_for_a_dataset_of_dark_ink_on_paper_is_turned_dark_on_light():
    canvas = np.zeros((40, 40, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[10:30, 18:22, :3] = 255  # a white stroke on black, as the canvas draws
    paper = ImageTarget((1, 16, 16), False, 1.0, light_ground=True)
    grey = canvas_pixels(canvas, paper)[:, :, 0]
    assert grey[0, 0] == 1.0 and grey[20, 20] == 0.0
    assert canvas_pixels(canvas, ImageTarget((1, 16, 16), True, 1.0))[20, 20, 0] == 1.0
    item = prepare_image(canvas_pixels(canvas, paper), paper)
    assert item.shape == (1, 16, 16) and item[0, 0, 0] > 0.9 and item.min() < 0.5  # dark ink stays dark


def test_image_target_of_strokes_on_a_dark_ground_measures_their_extent():
    X = np.zeros((10, 1, 20, 20), np.float32)
    X[:, :, 5:15, 8:12] = 1.0  # strokes 10 px tall in a 20 px frame
    assert ImageTarget.of(X) == ImageTarget((1, 20, 20), True, 0.5)


def test_canvas_pixels_transparent_is_background_and_white_is_ink():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[:, :, :3] = 255            # white everywhere, but transparent
    rgba[1, 2] = (255, 255, 255, 255)  # one opaque white stroke pixel
    rgba[2, 3] = (0, 0, 0, 255)        # an opaque black background pixel
    rgba[3, 0] = (255, 255, 255, 128)  # a half-transparent edge of a stroke
    grey = canvas_pixels(rgba)
    assert grey.shape == (4, 5, 1) and grey.dtype == np.float32
    assert grey[1, 2, 0] == 1.0
    assert grey[2, 3, 0] == 0.0
    assert grey[3, 0, 0] == pytest.approx(128 / 255)
    expected = np.zeros((4, 5), np.float32)
    expected[1, 2], expected[3, 0] = 1.0, 128 / 255
    np.testing.assert_allclose(grey[:, :, 0], expected, atol=1e-6)


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def test_picture_pixels_reads_a_png():
    grey = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    pixels = picture_pixels(png_bytes(grey), "grey.png")
    assert pixels.shape == (12, 10, 1) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels[:, :, 0], grey / 255.0, atol=1e-7)

    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    pixels = picture_pixels(png_bytes(rgb), "rgb.png")
    assert pixels.shape == (7, 9, 3)
    np.testing.assert_allclose(pixels, rgb / 255.0, atol=1e-7)


def test_picture_pixels_names_an_unreadable_file():
    with pytest.raises(InputError, match="garbage.png"):
        picture_pixels(b"\x89PNG not really a picture", "garbage.png")


def test_an_uploaded_drawing_goes_all_the_way_to_an_item():
    ink = (drawing(ink=0, ground=255)[:, :, 0] * 255).astype(np.uint8)
    item = prepare_image(picture_pixels(png_bytes(ink), "mine.png"), MNIST_LIKE)
    np.testing.assert_allclose(item, prepare_image(drawing(), MNIST_LIKE), atol=1e-3)


# --- text ----------------------------------------------------------------------------------

def test_check_text_refuses_empty_and_overlong_text():
    for empty in ("", "   \n\t ", None):
        with pytest.raises(InputError, match="Type or paste"):
            check_text(empty)
    with pytest.raises(InputError, match=f"{MAX_TEXT_CHARS:,}"):
        check_text("a" * (MAX_TEXT_CHARS + 1))
    assert check_text("  fine words \n") == "fine words"
    assert check_text("a" * MAX_TEXT_CHARS) == "a" * MAX_TEXT_CHARS


def test_tokens_seen_marks_words_outside_the_vocabulary():
    tokenizer = TextTokenizer(max_len=16).fit(["the battery lasts", "the screen is great", "not bad"])
    seen, dropped = tokens_seen("The battery zzqx is GREAT", tokenizer)
    assert seen == [("the", True), ("battery", True), ("zzqx", False), ("is", True), ("great", True)]
    assert dropped == 0


def test_tokens_seen_counts_the_tokens_past_max_len():
    tokenizer = TextTokenizer(max_len=3).fit(["a b c d e"])
    seen, dropped = tokens_seen("a b zz c d e f", tokenizer)
    assert seen == [("a", True), ("b", True), ("zz", False)]
    assert dropped == 4


def test_tokens_seen_with_a_runs_tokenizer(reviews_runs, store, reviews):
    tokenizer = Predictor(reviews_runs[1], store).preprocessor
    words = tokenizer.vocab_[2:6]  # past <pad> and <unk>: the most frequent training words
    seen, dropped = tokens_seen(" ".join(words[:2] + ["zzqx"] + words[2:]), tokenizer)
    assert seen == [(w, True) for w in words[:2]] + [("zzqx", False)] + [(w, True) for w in words[2:]]
    assert dropped == 0
    long_text = " ".join(["zzqx"] * (tokenizer.max_len + 5))
    seen, dropped = tokens_seen(long_text, tokenizer)
    assert len(seen) == tokenizer.max_len and dropped == 5 and not any(known for _, known in seen)


# --- sounds --------------------------------------------------------------------------------

def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, **kwargs) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", **kwargs)
    return buf.getvalue()


def dominant_hz(clip: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(clip))
    return float(np.fft.rfftfreq(len(clip), 1 / rate)[np.argmax(spectrum)])


def test_a_stereo_44k_recording_becomes_an_8k_clip_with_its_pitch():
    left = tone(440, 1.5, 44100)
    stereo = np.stack([left, 0.5 * left], axis=1)
    samples, rate = recording_samples(wav_bytes(stereo, 44100, subtype="FLOAT"), "stereo.wav")
    assert rate == 44100 and samples.ndim == 1 and len(samples) == len(left)
    np.testing.assert_allclose(samples, 0.75 * left, atol=1e-6)  # the channels mixed down
    clip = prepare_sound(samples, rate, 8000, 8000)
    assert clip.shape == (8000,) and clip.dtype == np.float32
    assert dominant_hz(clip, 8000) == pytest.approx(440, abs=2)
    assert np.abs(clip).max() == pytest.approx(0.75 * 0.3, rel=0.05)


def test_a_long_recording_keeps_its_loudest_stretch():
    rate = 16000
    rng = np.random.default_rng(0)
    recording = (0.005 * rng.standard_normal(3 * rate)).astype(np.float32)
    burst = slice(int(2.0 * rate), int(2.5 * rate))
    recording[burst] += tone(1000, 0.5, rate, amplitude=0.5)
    clip = prepare_sound(recording, rate, 8000, 8000)
    assert clip.shape == (8000,)
    burst_energy = float(np.sum(tone(1000, 0.5, 8000, amplitude=0.5).astype(np.float64) ** 2))
    assert np.sum(clip.astype(np.float64) ** 2) >= 0.98 * burst_energy
    loud = np.flatnonzero(np.abs(clip) > 0.25)
    assert loud[-1] - loud[0] >= 0.45 * 8000  # the whole half second burst is inside


def test_a_short_recording_is_padded_with_silence():
    short = tone(300, 0.5, 8000)
    clip = prepare_sound(short, 8000, 8000, 8000)
    assert clip.shape == (8000,)
    np.testing.assert_array_equal(clip[:4000], short)
    assert not clip[4000:].any()


def test_unusable_recordings_are_refused_with_a_reason():
    with pytest.raises(InputError, match="silent"):
        prepare_sound(np.zeros(8000, np.float32), 8000, 8000, 8000)
    with pytest.raises(InputError, match=f"at least {MIN_RECORDING_S:g} s"):
        prepare_sound(tone(300, 0.05, 8000), 8000, 8000, 8000)
    with pytest.raises(InputError, match=f"the limit is {MAX_RECORDING_S:g} s"):
        prepare_sound(tone(300, 11, 8000), 8000, 8000, 8000)
    assert prepare_sound(tone(300, MAX_RECORDING_S, 8000), 8000, 8000, 8000).shape == (8000,)


def test_recording_samples_names_an_unreadable_file():
    with pytest.raises(InputError, match="noise.wav"):
        recording_samples(b"RIFF not really a sound", "noise.wav")
    with pytest.raises(InputError, match="empty.wav"):
        recording_samples(wav_bytes(np.zeros(0, np.float32), 8000), "empty.wav")
