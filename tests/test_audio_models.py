"""Sound: log-mel spectrograms (checked against librosa), their fitted preprocessor, the audio
model families (pooled-logreg, pooled-mlp, frame-gru, and cnn on spectrograms), their run
defaults, and train_run end to end on an uploaded zip of synthetic tones."""

import io
import json
import zipfile

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from nnapps.data import load_dataset
from nnapps.data.uploads import store_upload
from nnapps.features import FEATURE_SCHEMAS, LogMelSpectrogram, make_preprocessor, preprocessor_from_state
from nnapps.features import audio
from nnapps.features.audio import clear_cache, frame_sizes, log_mel, mel_filterbank
from nnapps.models import FAMILIES, InputInfo, families_for
from nnapps.models.cnn import CNN, CNNConfig
from nnapps.models.pooled import PoolStats, pool_stats
from nnapps.training.pipeline import load_model, load_preprocessor, predict_proba, train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from nnapps.training.loop import TensorData, TrainConfig, evaluate_loss, fit
from model_inputs import AUDIO_INFOS, spectrograms

AUDIO_FAMILIES = ["pooled-logreg", "pooled-mlp", "frame-gru", "cnn"]
TORCH_AUDIO_FAMILIES = [name for name in AUDIO_FAMILIES if FAMILIES[name].kind == "torch"]
INFO = AUDIO_INFOS[0]  # (1, 16, 21)
N_CLASSES = 4


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts (and leaves) the log-mel cache empty, so cache hits are its own."""
    clear_cache()
    yield
    clear_cache()


def noisy_clips(n: int, length: int, rate: int, seed: int = 0, tone_hz: float = 440.0,
                scale: float = 1.0) -> np.ndarray:
    """(n, length) float32: white noise, a tone in every other clip and a silent half in one."""
    rng = np.random.default_rng(seed)
    X = 0.1 * rng.standard_normal((n, length))
    t = np.arange(length) / rate
    X[::2] += 0.5 * np.sin(2 * np.pi * tone_hz * t)
    if n > 2:
        X[2, : length // 2] = 0.0  # silence reaches the power floor
    return (scale * X).astype(np.float32)


def librosa_log_mel(X: np.ndarray, rate: int, window_ms: float, hop_ms: float, n_mels: int) -> np.ndarray:
    window, hop, n_fft = frame_sizes(rate, window_ms, hop_ms)
    return np.stack([librosa.power_to_db(
        librosa.feature.melspectrogram(y=x, sr=rate, n_fft=n_fft, hop_length=hop, win_length=window,
                                       window="hann", center=True, pad_mode="constant", power=2.0,
                                       n_mels=n_mels),
        ref=1.0, amin=1e-10, top_db=None) for x in X])


# ---- log_mel --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, window_ms, hop_ms, n_mels, length", [
    (8000, 25.0, 10.0, 40, 4000),
    (16000, 32.0, 16.0, 64, 8000),
    (22050, 20.0, 5.0, 24, 5000),  # a window that is not a power of two, an uneven hop
])
def test_log_mel_matches_librosa(rate, window_ms, hop_ms, n_mels, length):
    X = noisy_clips(3, length, rate)
    out = log_mel(X, rate, window_ms, hop_ms, n_mels)
    _, hop, _ = frame_sizes(rate, window_ms, hop_ms)
    assert out.shape == (3, n_mels, 1 + length // hop) and out.dtype == np.float32
    ref = librosa_log_mel(X, rate, window_ms, hop_ms, n_mels)
    assert ref.shape == out.shape
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-2)
    assert out.min() == pytest.approx(-100.0, abs=1e-3)  # the silent half sits on the floor


def test_log_mel_is_the_same_in_chunks(monkeypatch):
    X = noisy_clips(5, 2000, 8000)
    whole = log_mel(X, 8000, 25.0, 10.0, 20).copy()
    clear_cache()
    # two clips' worth of STFT work per chunk (129 bins x 26 frames x 16 bytes each)
    monkeypatch.setattr(audio, "CHUNK_BYTES", 2 * 129 * 26 * 16)
    np.testing.assert_allclose(log_mel(X, 8000, 25.0, 10.0, 20), whole, rtol=0, atol=1e-4)


def test_log_mel_of_no_clips_is_empty():
    out = log_mel(np.zeros((0, 800), np.float32), 8000, 25.0, 10.0, 16)
    assert out.shape == (0, 16, 1 + 800 // 80)


@pytest.mark.parametrize("rate, window_ms, hop_ms, expected", [
    (8000, 25.0, 10.0, (200, 80, 256)),
    (16000, 25.0, 10.0, (400, 160, 512)),
    (16000, 32.0, 16.0, (512, 256, 512)),   # a power of two is its own FFT size
    (44100, 25.0, 10.0, (1102, 441, 2048)),
    (8000, 0.5, 0.1, (8, 1, 8)),            # at least 8 samples and a hop of 1
])
def test_frame_sizes(rate, window_ms, hop_ms, expected):
    window, hop, n_fft = frame_sizes(rate, window_ms, hop_ms)
    assert (window, hop, n_fft) == expected
    assert n_fft >= window and n_fft & (n_fft - 1) == 0 and n_fft < 2 * window


def test_a_tone_lands_in_its_mel_band():
    rate, n_mels = 16000, 40
    t = np.arange(rate // 2) / rate
    X = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)[None]
    out = log_mel(X, rate, 25.0, 10.0, n_mels)[0]
    loudest = int(out[:, 5:-5].mean(axis=1).argmax())  # away from the zero-padded edges
    # Band i rises from edges[i], peaks at edges[i + 1] and falls to edges[i + 2].
    edges = librosa.mel_frequencies(n_mels + 2, fmax=rate / 2)
    assert edges[loudest] < 1000.0 < edges[loudest + 2]
    assert loudest == int(np.abs(edges[1:-1] - 1000.0).argmin())
    # Far bands hear (almost) nothing of it.
    assert out[loudest].mean() - out[[0, n_mels - 1]].mean() > 60


def test_mel_filterbank_shape_and_coverage():
    bank = mel_filterbank(8000, 256, 40)
    assert bank.shape == (40, 129) and bank.dtype == np.float32
    assert (bank >= 0).all() and (bank.max(axis=1) > 0).all()


def test_too_many_mel_bands_for_the_fft_is_a_clear_error():
    X = noisy_clips(2, 800, 8000)
    with pytest.raises(ValueError, match=r"64 mel bands are too many for a 64-point FFT at 8000 Hz.*"
                                         r"fewer bands or a longer window"):
        log_mel(X, 8000, 5.0, 2.0, 64)
    with pytest.raises(ValueError, match="too many"):
        LogMelSpectrogram(sample_rate=8000, window_ms=5.0, hop_ms=2.0, n_mels=64).fit(X)
    # The warnings filter used to catch librosa's warning does not leak.
    assert log_mel(X, 8000, 25.0, 10.0, 16).shape == (2, 16, 11)


def test_clips_shorter_than_a_window_are_refused():
    with pytest.raises(ValueError, match="shorter than one 25 ms window"):
        log_mel(np.ones((2, 199), np.float32), 8000, 25.0, 10.0, 16)  # the window is 200 samples
    assert log_mel(np.ones((2, 200), np.float32), 8000, 25.0, 10.0, 16).shape == (2, 16, 3)
    with pytest.raises(ValueError, match=r"expected sounds shaped \(N, samples\)"):
        log_mel(np.ones(800, np.float32), 8000, 25.0, 10.0, 16)


def test_cache_returns_the_same_array_for_the_same_input():
    X = noisy_clips(3, 1600, 8000)
    first = log_mel(X, 8000, 25.0, 10.0, 16)
    assert log_mel(X.copy(), 8000, 25.0, 10.0, 16) is first           # equal content: a hit
    assert log_mel(X.astype(np.float64), 8000, 25.0, 10.0, 16) is first  # cast to float32 first
    other = X.copy()
    other[0, 0] += 0.5
    changed = log_mel(other, 8000, 25.0, 10.0, 16)
    assert changed is not first and not np.array_equal(changed, first)
    # Any other setting is another entry.
    assert log_mel(X, 8000, 25.0, 10.0, 20).shape == (3, 20, 21)
    assert log_mel(X, 8000, 25.0, 20.0, 16).shape == (3, 16, 11)
    assert log_mel(X, 16000, 25.0, 10.0, 16) is not first


def test_clear_cache_recomputes():
    X = noisy_clips(2, 1600, 8000)
    first = log_mel(X, 8000, 25.0, 10.0, 16)
    assert len(audio._cache) == 1
    clear_cache()
    assert len(audio._cache) == 0
    again = log_mel(X, 8000, 25.0, 10.0, 16)
    assert again is not first and np.array_equal(again, first)


def test_cache_stays_under_its_budget(monkeypatch):
    X = noisy_clips(2, 1600, 8000)
    one = log_mel(X, 8000, 25.0, 10.0, 16)
    monkeypatch.setattr(audio, "CACHE_BYTES", int(one.nbytes * 2.5))
    for n_mels in (17, 18, 19, 20):
        log_mel(X, 8000, 25.0, 10.0, n_mels)
    assert sum(v.nbytes for v in audio._cache.values()) <= audio.CACHE_BYTES
    assert len(audio._cache) == 2  # the oldest were dropped


# ---- LogMelSpectrogram ----------------------------------------------------------------------

RATE, LENGTH = 8000, 2400  # 0.3 s


def fitted(n_mels: int = 16) -> tuple[LogMelSpectrogram, np.ndarray]:
    X_train = noisy_clips(12, LENGTH, RATE, seed=1)
    return LogMelSpectrogram(sample_rate=RATE, window_ms=25.0, hop_ms=10.0, n_mels=n_mels).fit(X_train), X_train


def test_fit_standardises_each_band_of_the_training_data():
    pre, X_train = fitted()
    Z = pre.transform(X_train)
    assert Z.shape == (12, 1, 16, 1 + LENGTH // 80) and Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=(0, 1, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=(0, 1, 3)), 1, atol=1e-3)
    assert len(pre.mean_) == len(pre.std_) == 16 and pre.n_samples_ == LENGTH


def test_transform_uses_the_training_statistics():
    pre, X_train = fitted()
    louder = noisy_clips(6, LENGTH, RATE, seed=2, scale=10.0)  # +20 dB in every band
    Z = pre.transform(louder)
    db = log_mel(louder, RATE, 25.0, 10.0, 16)
    expected = (db - np.array(pre.mean_)[None, :, None]) / np.array(pre.std_)[None, :, None]
    np.testing.assert_allclose(Z[:, 0], expected, rtol=1e-5, atol=1e-4)
    # Not standardised on itself: every band is well above the training mean.
    assert (Z.mean(axis=(0, 1, 3)) > 0.5).all()
    stats_before = (list(pre.mean_), list(pre.std_))
    pre.transform(louder)
    assert (pre.mean_, pre.std_) == stats_before


def test_input_info_is_one_channel_of_bands_by_frames():
    pre, _ = fitted(n_mels=24)
    assert pre.input_info() == InputInfo((1, 24, 1 + LENGTH // 80))
    assert pre.input_info().vocab_size == 0 and pre.n_frames() == 31


def test_state_round_trip_gives_identical_transforms():
    pre, X_train = fitted()
    state = json.loads(json.dumps(pre.to_state()))  # as the run store keeps it
    assert state["kind"] == "log_mel" and state["sample_rate"] == RATE and state["n_samples"] == LENGTH
    again = preprocessor_from_state(state)
    assert isinstance(again, LogMelSpectrogram) and again == pre
    X = noisy_clips(4, LENGTH, RATE, seed=3)
    np.testing.assert_array_equal(again.transform(X), pre.transform(X))
    assert again.input_info() == pre.input_info()
    with pytest.raises(ValueError, match="not a log-mel state"):
        LogMelSpectrogram.from_state({**state, "kind": "text_tokenizer"})


def test_transform_before_fit_raises():
    pre = LogMelSpectrogram(sample_rate=RATE)
    with pytest.raises(RuntimeError, match="not fitted"):
        pre.transform(noisy_clips(2, LENGTH, RATE))
    with pytest.raises(RuntimeError, match="not fitted"):
        pre.input_info()


def test_a_wrong_clip_length_is_refused():
    pre, _ = fitted()
    with pytest.raises(ValueError, match=rf"expected sounds shaped \(N, {LENGTH}\) at 8000 Hz"):
        pre.transform(noisy_clips(2, LENGTH + 80, RATE))
    with pytest.raises(ValueError, match="expected sounds shaped"):
        pre.transform(noisy_clips(2, LENGTH, RATE)[0])


def test_make_preprocessor_uses_the_schema_defaults():
    pre = make_preprocessor("audio", {}, sample_rate=8000)
    defaults = FEATURE_SCHEMAS["audio"].defaults()
    assert isinstance(pre, LogMelSpectrogram) and pre.sample_rate == 8000
    assert (pre.window_ms, pre.hop_ms, pre.n_mels) == (defaults["window_ms"], defaults["hop_ms"],
                                                       defaults["n_mels"]) == (25.0, 16.0, 32)
    custom = make_preprocessor("audio", {"n_mels": "20", "hop_ms": 8}, sample_rate=16000)
    assert (custom.window_ms, custom.hop_ms, custom.n_mels, custom.sample_rate) == (25.0, 8.0, 20, 16000)
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        make_preprocessor("audio", {})
    with pytest.raises(ValueError, match="n_mels"):
        make_preprocessor("audio", {"n_mels": 4}, sample_rate=8000)


# ---- the audio families ---------------------------------------------------------------------


def make_model(name: str, info: InputInfo = INFO, n_classes: int = N_CLASSES, seed: int = 0, **hparams):
    family = FAMILIES[name]
    torch.manual_seed(seed)
    return family.make({**family.defaults("audio"), **hparams}, info, n_classes)


def fit_sklearn(model, X: torch.Tensor, y: torch.Tensor):
    return model.fit(X.numpy().reshape(len(X), -1), y.numpy())


def test_the_audio_families():
    assert {f.name for f in families_for("audio")} == set(AUDIO_FAMILIES)
    assert FAMILIES["pooled-logreg"].kind == "sklearn"
    assert set(TORCH_AUDIO_FAMILIES) == {"pooled-mlp", "frame-gru", "cnn"}


@pytest.mark.parametrize("info", AUDIO_INFOS, ids=lambda i: "x".join(map(str, i.shape)))
@pytest.mark.parametrize("name", AUDIO_FAMILIES)
def test_probabilities_sum_to_one(name, info):
    X = spectrograms(10, info, seed=1)
    y = torch.arange(10) % N_CLASSES
    model = make_model(name, info)
    if isinstance(model, nn.Module):
        model.eval()
    else:
        fit_sklearn(model, X, y)
    proba = predict_proba(model, X.numpy(), N_CLASSES)
    assert proba.shape == (10, N_CLASSES) and np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)


def train_config(**changes) -> TrainConfig:
    return TrainConfig(**{"lr": 1e-2, "batch_size": 20, "epochs": 60, "patience": 0, "device": "cpu",
                          **changes})


@pytest.mark.parametrize("name", TORCH_AUDIO_FAMILIES)
def test_torch_families_overfit_a_small_batch(name):
    """20 random spectrograms with arbitrary labels: a working model memorises them."""
    X = spectrograms(20, INFO, seed=2)
    y = torch.arange(20) % N_CLASSES
    model = make_model(name)
    data = TensorData(X, y, X, y)
    history = fit(model, data, train_config(epochs=30))
    _, acc = evaluate_loss(model, X, y)
    assert acc == 1.0, f"{name} reached {acc:.2f} after {len(history.epochs)} epochs"
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


def test_pooled_logreg_fits_a_small_batch():
    X = spectrograms(20, INFO, seed=2)
    y = torch.arange(20) % N_CLASSES
    model = fit_sklearn(make_model("pooled-logreg", C=10.0), X, y)
    assert (predict_proba(model, X.numpy(), N_CLASSES).argmax(1) == y.numpy()).all()


@pytest.mark.parametrize("name", TORCH_AUDIO_FAMILIES)
def test_same_seed_same_weights_after_a_short_fit(name):
    X = spectrograms(24, INFO, seed=3)
    y = torch.arange(24) % N_CLASSES
    data = TensorData(X[:16], y[:16], X[16:], y[16:])

    def trained(seed: int):
        model = make_model(name, seed=seed)
        fit(model, data, train_config(epochs=2, batch_size=8, seed=seed))
        return model.eval()

    a, b, c = trained(0), trained(0), trained(1)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    with torch.no_grad():
        assert torch.equal(a(X), b(X))
        assert not torch.equal(a(X), c(X))


def test_pool_stats_is_the_mean_and_spread_over_time_of_each_band():
    X = spectrograms(5, INFO, seed=4) * 3 + 1
    pooled = pool_stats(X)
    bands = X.numpy()[:, 0]  # (5, n_mels, frames)
    expected = np.concatenate([bands.mean(axis=2), bands.std(axis=2)], axis=1)
    assert pooled.shape == (5, 2 * INFO.shape[1])
    np.testing.assert_allclose(pooled.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(PoolStats()(X), pooled)


def test_pooled_logreg_weights_round_trip():
    family = FAMILIES["pooled-logreg"]
    X = spectrograms(20, INFO, seed=5)
    y = torch.arange(20) % N_CLASSES
    model = fit_sklearn(make_model("pooled-logreg"), X, y)
    weights = family.export_weights(model)
    assert weights and all(isinstance(w, torch.Tensor) for w in weights.values())
    fresh = family.import_weights(make_model("pooled-logreg"), weights)
    X_new = spectrograms(7, INFO, seed=6).numpy()
    np.testing.assert_array_equal(predict_proba(fresh, X_new, N_CLASSES),
                                  predict_proba(model, X_new, N_CLASSES))


def test_pooled_logreg_is_built_for_its_input_shape():
    with pytest.raises(ValueError, match=r"pooled models need spectrograms shaped \(1, n_mels, frames\)"):
        make_model("pooled-logreg", InputInfo((16, 21)))
    with pytest.raises(ValueError, match="frame-gru needs spectrograms"):
        make_model("frame-gru", InputInfo((16, 21)))


def logits_or_proba(model, X: torch.Tensor) -> np.ndarray:
    if isinstance(model, nn.Module):
        with torch.no_grad():
            return model.eval()(X).numpy()
    return predict_proba(model, X.numpy(), N_CLASSES)


@pytest.mark.parametrize("name", ["pooled-logreg", "pooled-mlp"])
def test_pooled_models_cannot_hear_the_order_of_frames(name):
    X = spectrograms(10, INFO, seed=7)
    model = make_model(name)
    if not isinstance(model, nn.Module):
        fit_sklearn(model, X, torch.arange(10) % N_CLASSES)
    shuffled = X[..., torch.randperm(X.shape[-1], generator=torch.Generator().manual_seed(0))]
    np.testing.assert_allclose(logits_or_proba(model, X.flip(-1)), logits_or_proba(model, X),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logits_or_proba(model, shuffled), logits_or_proba(model, X),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_frame_gru_hears_the_order_of_frames(bidirectional):
    X = spectrograms(10, INFO, seed=7)
    model = make_model("frame-gru", bidirectional=bidirectional)
    forward, backward = logits_or_proba(model, X), logits_or_proba(model, X.flip(-1))
    assert np.abs(forward - backward).max() > 1e-4
    # Still a function of each clip alone: the batch does not matter.
    np.testing.assert_allclose(logits_or_proba(model, X[:3]), forward[:3], rtol=1e-5, atol=1e-6)


def test_frame_gru_reads_every_band_of_a_frame():
    model = make_model("frame-gru", hidden=8, n_layers=2)
    assert model.gru.input_size == INFO.shape[1] and model.gru.num_layers == 2
    assert model.out.in_features == 2 * 8


@pytest.mark.parametrize("shape", [(1, 16, 21), (1, 24, 33), (1, 40, 101), (1, 8, 5), (1, 3, 2)])
def test_cnn_average_head_builds_for_any_input_size(shape):
    model = make_model("cnn", InputInfo(shape), head="average")
    assert isinstance(model.classifier[0], nn.AdaptiveAvgPool2d)
    # The classifier sees one number per channel of the last block, whatever the size.
    assert model.classifier[-1].in_features == model.config.channels * 2 ** (model.config.n_blocks - 1)
    X = spectrograms(3, InputInfo(shape), seed=8)
    assert logits_or_proba(model, X).shape == (3, N_CLASSES)


def test_cnn_average_head_takes_other_lengths_with_the_same_weights():
    model = make_model("cnn", INFO, head="average")
    longer = spectrograms(2, InputInfo((1, 16, 50)), seed=9)
    assert logits_or_proba(model, longer).shape == (2, N_CLASSES)
    flat = make_model("cnn", INFO, head="flatten")
    with pytest.raises(RuntimeError):
        logits_or_proba(flat, longer)


def test_cnn_flatten_head_still_works():
    model = make_model("cnn", INFO, head="flatten", n_blocks=2)
    assert not any(isinstance(m, nn.AdaptiveAvgPool2d) for m in model.modules())
    assert model.classifier[-1].in_features == model.config.channels * 2 * (16 // 4) * (21 // 4)
    assert logits_or_proba(model, spectrograms(3, INFO)).shape == (3, N_CLASSES)


@pytest.mark.parametrize("n_blocks", [1, 3])
def test_cnn_batch_norm_adds_one_per_block(n_blocks):
    with_bn = make_model("cnn", n_blocks=n_blocks, batch_norm=True)
    bns = [m for m in with_bn.modules() if isinstance(m, nn.BatchNorm2d)]
    convs = [m for m in with_bn.modules() if isinstance(m, nn.Conv2d)]
    assert len(bns) == n_blocks and [b.num_features for b in bns] == [c.out_channels for c in convs]
    without = make_model("cnn", n_blocks=n_blocks, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())


def test_cnn_invalid_head_raises():
    with pytest.raises(ValueError, match="head must be one of"):
        FAMILIES["cnn"].make({"head": "attention"}, INFO, N_CLASSES)
    with pytest.raises(ValueError, match=r"head must be one of \('flatten', 'average'\)"):
        CNN(CNNConfig(in_channels=1, height=16, width=21, n_classes=N_CLASSES, head="attention"))


# ---- run configs: defaults per modality -----------------------------------------------------


def test_cnn_gets_audio_defaults_on_sounds_and_image_defaults_on_images():
    cnn = FAMILIES["cnn"]
    on_sound = RunConfig.make("spoken-digits", "cnn")
    assert on_sound.hparams == {**cnn.schema.defaults(), "n_blocks": 4, "channels": 8, "batch_norm": True,
                                "head": "average", "dropout": 0.2}
    on_images = RunConfig.make("digits", "cnn")
    assert on_images.hparams == cnn.schema.defaults()
    assert (on_images.hparams["n_blocks"], on_images.hparams["batch_norm"],
            on_images.hparams["head"]) == (2, False, "flatten")
    assert cnn.defaults("image") == cnn.schema.defaults() and cnn.defaults("audio") == on_sound.hparams


def test_explicit_hparams_override_modality_defaults():
    config = RunConfig.make("spoken-digits", "cnn", {"n_blocks": 2, "head": "flatten"})
    assert config.hparams["n_blocks"] == 2 and config.hparams["head"] == "flatten"
    assert config.hparams["batch_norm"] is True  # the other audio defaults stay
    # Naming a modality default explicitly is the same run as leaving it out.
    assert RunConfig.make("spoken-digits", "cnn", {"n_blocks": 4}).run_id == \
        RunConfig.make("spoken-digits", "cnn").run_id
    assert RunConfig.make("spoken-digits", "cnn", {"n_blocks": 2}).run_id != \
        RunConfig.make("spoken-digits", "cnn").run_id


def test_audio_train_defaults():
    config = RunConfig.make("spoken-digits", "pooled-mlp")
    assert config.train == {**TRAIN_SCHEMA.defaults(), "lr": 3e-3, "epochs": 30, "patience": 8}
    assert RunConfig.make("spoken-digits", "frame-gru", train={"lr": 0.01}).train["lr"] == 0.01
    assert RunConfig.make("digits", "mlp").train["lr"] == 1e-3
    assert RunConfig.make("spoken-digits", "pooled-logreg").train == {"seed": 0}


def test_audio_features_are_validated_into_the_config():
    config = RunConfig.make("spoken-digits", "pooled-mlp", features={"n_mels": "20"})
    assert config.features == {**FEATURE_SCHEMAS["audio"].defaults(), "n_mels": 20}
    assert config.run_id != RunConfig.make("spoken-digits", "pooled-mlp").run_id


@pytest.mark.parametrize("family", ["mlp", "logreg", "gru"])
def test_families_for_other_modalities_refuse_sounds(family):
    with pytest.raises(ValueError, match=r"takes (image|text) data, not audio"):
        RunConfig.make("spoken-digits", family)


@pytest.mark.parametrize("family", ["pooled-mlp", "frame-gru"])
def test_audio_families_refuse_images(family):
    with pytest.raises(ValueError, match="takes audio data, not image"):
        RunConfig.make("digits", family)


# ---- train_run end to end on uploaded tones -------------------------------------------------

UPLOAD_RATE = 16000


def tones_zip(n_per_class: int = 12, seconds: float = 0.3) -> bytes:
    """A zip of class folders low/ and high/ of WAV tones near 300 Hz and near 2 kHz, in noise."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    t = np.arange(int(UPLOAD_RATE * seconds)) / UPLOAD_RATE
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, base_hz in (("low", 300.0), ("high", 2000.0)):
            for i in range(n_per_class):
                hz = base_hz * rng.uniform(0.9, 1.1)
                clip = 0.4 * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))
                clip += 0.02 * rng.standard_normal(len(t))
                wav = io.BytesIO()
                sf.write(wav, clip.astype(np.float32), UPLOAD_RATE, format="WAV", subtype="PCM_16")
                archive.writestr(f"{label}/{i:02d}.wav", wav.getvalue())
    return buffer.getvalue()


@pytest.mark.parametrize("family, hparams", [
    ("pooled-mlp", {"width": 16}),
    ("cnn", {"channels": 4, "n_blocks": 2}),
])
def test_train_run_on_uploaded_sounds(tmp_path, family, hparams):
    spec = store_upload(tones_zip(), "tones.zip")
    assert spec.modality == "audio" and spec.sample_rate == UPLOAD_RATE
    config = RunConfig.make(spec.name, family, hparams,
                            train={"epochs": 8, "batch_size": 4, "lr": 1e-2}, features={"n_mels": 16})
    if family == "cnn":
        assert config.hparams["batch_norm"] and config.hparams["head"] == "average"  # audio defaults
    store = RunStore(tmp_path / "store")
    run = train_run(config, store)
    assert run.status == "complete" and run.metrics["accuracy"] == 1.0, run.metrics
    assert run.metrics["epochs_run"] >= 1 and run.history.epochs[-1].train_acc > 0.5
    assert sorted(run.class_names) == ["high", "low"]

    state = run.preprocessor
    assert state["kind"] == "log_mel" and state["sample_rate"] == UPLOAD_RATE
    assert state["n_mels"] == 16 and state["n_samples"] == int(0.3 * UPLOAD_RATE)
    _, hop, _ = frame_sizes(UPLOAD_RATE, state["window_ms"], state["hop_ms"])
    assert run.input_info == InputInfo((1, 16, 1 + state["n_samples"] // hop))

    stored = RunStore(store.root).get(run.run_id)
    model, pre = load_model(stored, store), load_preprocessor(stored)
    dataset = load_dataset(spec.name, config.split_seed)
    clear_cache()  # the reloaded preprocessor computes its spectrograms afresh
    proba = predict_proba(model, pre.transform(dataset.X_test), len(stored.class_names))
    np.testing.assert_array_equal(proba, stored.test_proba)
    np.testing.assert_array_equal(stored.y_test, dataset.y_test)
