"""Benchmarks: speed as ratios against a reference run in the same process, and accuracy figures.

Every timing here is compared with a reference measured in the same process on the same
data, interleaved and repeated (median), so the figures hold on any machine.
"""

import statistics
import tempfile
import time
import warnings
from typing import Callable

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch import nn

from nnapps.data import load_dataset
from nnapps.features import ImageStandardizer
from nnapps.models import InputInfo
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.training.loop import TensorData, TrainConfig, fit


TEXT_FAMILIES = ("tfidf", "fasttext", "boe", "textcnn", "gru", "lstm", "transformer")
AUDIO_FAMILIES = ("pooled-logreg", "pooled-mlp", "frame-gru", "cnn")
BAG_OF_WORDS = ("tfidf", "boe")  # models that cannot see word order (fastText reads word pairs)


def _median_times(fns: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Run each fn once to warm up, then repeats times interleaved; median seconds of each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(fn())
    return {name: statistics.median(t) for name, t in times.items()}


def _tensor_data(name: str) -> tuple[TensorData, np.ndarray, np.ndarray]:
    ds = load_dataset(name, 0)
    pre = ImageStandardizer().fit(ds.X_train)
    data = TensorData.from_numpy(pre.transform(ds.X_train), ds.y_train,
                                 pre.transform(ds.X_val), ds.y_val)
    return data, pre.transform(ds.X_test), ds.y_test


def _sklearn_like_mlp(n_in: int, n_classes: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, n_classes))


def bare_loop(model: nn.Module, data: TensorData, epochs: int, batch_size: int, seed: int = 0) -> None:
    """The reference: a plain PyTorch loop with torch.optim.Adam over the same shuffled batches."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    X, y = data.X_train, data.y_train
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), batch_size):
            idx = perm[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def loop_overhead(dataset: str, family: str, epochs: int, repeats: int) -> dict:
    """Our fit (validation, norms, early-stopping bookkeeping) against bare_loop, same batches."""
    data, _, _ = _tensor_data(dataset)
    config = RunConfig.make(dataset, family)
    from nnapps.training.pipeline import build_model

    def make():
        return build_model(config, InputInfo(tuple(data.X_train.shape[1:])), int(data.y_train.max()) + 1)

    def ours() -> float:
        model = make()
        t0 = time.perf_counter()
        fit(model, data, TrainConfig(epochs=epochs, batch_size=64, patience=0))
        return time.perf_counter() - t0

    def bare() -> float:
        model = make()
        t0 = time.perf_counter()
        bare_loop(model, data, epochs, 64)
        return time.perf_counter() - t0

    t = _median_times({"ours": ours, "bare": bare}, repeats)
    return {"dataset": dataset, "model": family, "epochs": epochs, "ours_s": t["ours"],
            "bare_pytorch_s": t["bare"], "ratio": t["ours"] / t["bare"]}


def against_sklearn(repeats: int) -> dict:
    """Our loop against scikit-learn's MLPClassifier: digits, (128, 64), 30 epochs, batch 64."""
    data, X_test, y_test = _tensor_data("digits")
    X_train = data.X_train.numpy().reshape(len(data.X_train), -1)
    accuracy: dict[str, float] = {}

    def ours() -> float:
        model = _sklearn_like_mlp(X_train.shape[1], 10)
        t0 = time.perf_counter()
        fit(model, data, TrainConfig(epochs=30, batch_size=64, lr=1e-3, patience=0))
        seconds = time.perf_counter() - t0
        with torch.inference_mode():
            accuracy["ours"] = float((model(torch.as_tensor(X_test)).argmax(1).numpy() == y_test).mean())
        return seconds

    def sklearn() -> float:
        clf = MLPClassifier((128, 64), batch_size=64, max_iter=30, learning_rate_init=1e-3,
                            tol=0.0, n_iter_no_change=10_000, random_state=0)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, data.y_train.numpy())
        seconds = time.perf_counter() - t0
        accuracy["sklearn"] = float(clf.score(X_test.reshape(len(X_test), -1), y_test))
        return seconds

    t = _median_times({"ours": ours, "sklearn": sklearn}, repeats)
    return {"ours_s": t["ours"], "sklearn_s": t["sklearn"], "ratio": t["ours"] / t["sklearn"],
            "ours_accuracy": accuracy["ours"], "sklearn_accuracy": accuracy["sklearn"]}


def accuracy_runs(specs: list[tuple[str, str, dict]]) -> list[dict]:
    """Train each (dataset, family, hparams) with defaults into a scratch store; test figures."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        for dataset, family, hparams in specs:
            run = train_run(RunConfig.make(dataset, family, hparams), store)
            out.append({"dataset": dataset, "model": family, "label": run.label,
                        "accuracy": run.metrics["accuracy"], "params": run.metrics["params"],
                        "train_seconds": run.metrics["train_seconds"], "epochs": run.metrics["epochs_run"]})
    return out


def audio_features(repeats: int) -> dict:
    """Log-mel spectrograms of the whole made spoken-digits dataset: decoding it, our extraction
    cold and cached, and librosa's melspectrogram on the same clips as the reference."""
    import librosa

    from nnapps.data import spoken_digits
    from nnapps.features import audio

    t0 = time.perf_counter()
    X = spoken_digits.load().X
    decode_s = time.perf_counter() - t0
    opts = {"window_ms": 25.0, "hop_ms": 16.0, "n_mels": 32}
    window, hop, n_fft = audio.frame_sizes(spoken_digits.SAMPLE_RATE, opts["window_ms"], opts["hop_ms"])
    audio.mel_filterbank(spoken_digits.SAMPLE_RATE, n_fft, opts["n_mels"])  # librosa's import and JIT

    def ours_cold() -> float:
        audio.clear_cache()
        t = time.perf_counter()
        audio.log_mel(X, spoken_digits.SAMPLE_RATE, **opts)
        return time.perf_counter() - t

    def ours_cached() -> float:
        t = time.perf_counter()
        audio.log_mel(X, spoken_digits.SAMPLE_RATE, **opts)
        return time.perf_counter() - t

    def reference() -> float:
        t = time.perf_counter()
        librosa.power_to_db(librosa.feature.melspectrogram(
            y=X, sr=spoken_digits.SAMPLE_RATE, n_fft=n_fft, hop_length=hop, win_length=window,
            center=True, pad_mode="constant", n_mels=opts["n_mels"]), ref=1.0, amin=audio.AMIN, top_db=None)
        return time.perf_counter() - t

    t = _median_times({"ours_cold": ours_cold, "ours_cached": ours_cached, "librosa": reference}, repeats)
    return {"clips": len(X), "seconds_of_audio": X.size / spoken_digits.SAMPLE_RATE, "decode_s": decode_s,
            "extract_s": t["ours_cold"], "cached_s": t["ours_cached"], "librosa_s": t["librosa"],
            "ratio_vs_librosa": t["ours_cold"] / t["librosa"]}


def _playground_case(dataset: str, families: tuple[str, ...], train: dict, features: dict,
                     prepare: Callable[[], object], repeats: int, store: RunStore) -> dict:
    """Time one Playground input through every run: its preparation and all the predictions,
    against the models alone on the already-prepared input."""
    from nnapps.training.pipeline import Predictor, predict_proba
    from nnapps.analysis.playground import as_batch, predict_all

    runs = [train_run(RunConfig.make(dataset, f, train=train, features=features), store) for f in families]
    predictors = {r.label: Predictor(r, store) for r in runs}
    item = prepare()
    prepared = {name: p.preprocessor.transform(as_batch(item)) for name, p in predictors.items()}

    def playground() -> float:
        t0 = time.perf_counter()
        predict_all(predictors, prepare())
        return time.perf_counter() - t0

    def models_alone() -> float:
        t0 = time.perf_counter()
        for name, p in predictors.items():
            predict_proba(p.model, prepared[name], p.n_classes)
        return time.perf_counter() - t0

    t = _median_times({"playground": playground, "models": models_alone}, repeats)
    return {"dataset": dataset, "runs": list(predictors), "playground_ms": 1000 * t["playground"],
            "models_alone_ms": 1000 * t["models"], "ratio": t["playground"] / t["models"]}


def playground_latency(repeats: int) -> list[dict]:
    """One drawing, one sentence and one 2 s recording at 44.1 kHz, each through every run."""
    import io

    import soundfile as sf
    from PIL import Image, ImageDraw

    from nnapps.data import spoken_digits
    from nnapps.data.audio import resample
    from nnapps.analysis.playground import (ImageTarget, canvas_pixels, check_text, prepare_image, prepare_sound,
                             recording_samples)

    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(canvas).line([(90, 50), (200, 50), (125, 240)], fill=(255, 255, 255, 255), width=20)
    rgba = np.asarray(canvas)
    target = ImageTarget.of(load_dataset("digits", 0).X_train)
    # Two made clips back to back, at a phone's rate: the Playground keeps the loudest second.
    clips = spoken_digits.load().X[:2].reshape(-1)
    wav = io.BytesIO()
    sf.write(wav, resample(clips, spoken_digits.SAMPLE_RATE, 44_100), 44_100, format="WAV")
    recording = wav.getvalue()

    def sound():
        samples, rate = recording_samples(recording, "recording.wav")
        return prepare_sound(samples, rate, spoken_digits.SAMPLE_RATE, spoken_digits.CLIP_SAMPLES)

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        return [
            _playground_case("digits", ("logreg", "mlp", "cnn"), {}, {},
                             lambda: prepare_image(canvas_pixels(rgba), target), repeats, store),
            _playground_case("reviews", ("tfidf", "boe", "textcnn", "gru", "transformer"), {"epochs": 1}, {},
                             lambda: check_text("not bad at all, the screen is great"), repeats, store),
            _playground_case("spoken-digits", AUDIO_FAMILIES, {"epochs": 1}, {}, sound, repeats, store),
        ]


def vanishing_gradient() -> list[dict]:
    """A 6-layer MLP with Sigmoid against one with ReLU on digits: how much smaller the first
    layer's gradient is than the last layer's in the first epoch, and the test accuracy."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        for activation in ("sigmoid", "relu"):
            hparams = {"activation": activation, "n_layers": 6, "width": 64}
            run = train_run(RunConfig.make("digits", "mlp", hparams), store)
            norms = list(run.history.epochs[0].grad_norms.values())
            out.append({"activation": activation, "label": run.label, "first_over_last_grad": norms[0] / norms[-1],
                        "accuracy": run.metrics["accuracy"], "epochs": run.metrics["epochs_run"]})
    return out


SECTIONS = ("speed", "optim", "image", "text", "audio", "examples", "playground", "inside", "gpt", "memory",
            "snapshots", "sweep")


def run_benchmarks(quick: bool = False, log: Callable[[str], None] = print,
                   only: tuple[str, ...] = SECTIONS) -> dict:
    repeats = 2 if quick else 5
    results: dict = {"torch_threads": torch.get_num_threads(), "repeats": repeats}
    if "speed" in only:
        log("training-loop overhead: ours against a bare PyTorch loop")
        results["loop_overhead"] = [loop_overhead("digits", "mlp", 10 if quick else 30, repeats),
                                    loop_overhead("digits", "cnn", 5 if quick else 15, repeats)]
        log("against scikit-learn's MLPClassifier on digits")
        results["vs_sklearn_mlp"] = against_sklearn(repeats)
    if "optim" in only:
        from .optim import optimizer_speed
        log("optimizers: a training step with ours against torch.optim's classes and the private kernels")
        results["optimizer_speed"] = optimizer_speed(repeats)
    if "image" in only:
        log("test accuracy on digits and scattered digits")
        runs = accuracy_runs([
            ("digits", "logreg", {}), ("digits", "mlp", {}), ("digits", "cnn", {}),
            ("scattered-digits", "cnn", {}),
            # An MLP with about as many parameters as the default CNN (19,090 against 20,490).
            ("scattered-digits", "mlp", {"n_layers": 1, "width": 24}),
            ("scattered-digits", "mlp", {}),
        ])
        results["accuracy"] = runs
        cnn, small_mlp = runs[3], runs[4]
        results["scattered_cnn_minus_mlp_points"] = 100 * (cnn["accuracy"] - small_mlp["accuracy"])
    if "text" in only:
        log("text: every family on the made reviews dataset")
        text = accuracy_runs([("reviews", family, {}) for family in TEXT_FAMILIES])
        results["text_accuracy"] = text
        bag = max(r["accuracy"] for r in text if r["model"] in BAG_OF_WORDS)
        best = max((r for r in text if r["model"] not in BAG_OF_WORDS), key=lambda r: r["accuracy"])
        results["text_best_sequence_model"] = best["label"]
        results["text_sequence_minus_bag_points"] = 100 * (best["accuracy"] - bag)
        from .text import small_text
        results["text_small_data"] = small_text(quick, log)
    if "audio" in only:
        log("audio: log-mel extraction and every family on the made spoken digits (unheard voices)")
        results["audio_features"] = audio_features(repeats)
        results["audio_accuracy"] = accuracy_runs([("spoken-digits", family, {}) for family in AUDIO_FAMILIES])
    if "examples" in only:
        from .examples import home_examples
        log("examples: each Home one-click example end to end, as the page trains it (fresh store and workers)")
        results["home_examples"] = home_examples(1 if quick else 3, log)
    if "playground" in only:
        log("playground: one input of each kind through every run, against the models alone")
        results["playground_latency"] = playground_latency(repeats)
    if "inside" in only:
        log("inside: the vanishing gradient of a deep Sigmoid MLP against a deep ReLU MLP")
        results["vanishing_gradient"] = vanishing_gradient()
    if "gpt" in only:
        from .gpt import gpt_training, next_char_latency
        log("gpt: training against a nanoGPT-style reference on the built-in corpus (about 3 minutes)")
        results["gpt_training"] = gpt_training(quick)
        log("gpt: the next-character table for a 64-character prompt")
        results["gpt_next_char"] = next_char_latency()
    if "snapshots" in only:
        from .compare import snapshot_overhead
        log("snapshots: training with the epoch scrubber's test probabilities kept, against without")
        results["snapshot_overhead"] = [snapshot_overhead("digits", "mlp", 30, repeats),
                                        snapshot_overhead("reviews", "gru", 2, repeats),
                                        snapshot_overhead("spoken-digits", "pooled-mlp", 10, repeats)]
    if "sweep" in only:
        from .sweep import run as sweep_run
        log("sweep: a 12-trial digits CNN sweep through each executor and local Ray, against one after another")
        results["sweep"] = sweep_run(quick=quick, log=log)
    if "memory" in only:
        from .executor_memory import table, training_memory
        from .memory import server_memory
        log("memory: the server with ten stored runs, Compare open on each dataset, then the GPT page")
        results["server_memory"] = server_memory(log)
        log("memory: a fresh server training each one-click example, public threads and local processes")
        rows = training_memory(epochs=1 if quick else 3, log=log)
        results["training_memory"] = rows
        results["training_memory_table"] = "\n" + table(rows)  # printed as it is by the command line
    return results
