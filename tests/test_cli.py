"""The command line, run as a user runs it: python -m nnapps in a subprocess.

Each subprocess spends most of its time importing torch, so the independent commands start
together in one module fixture and the tests then read their results.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnapps import cli
from nnapps.data import dataset_specs, load_dataset
from nnapps.models import CLASSIFIERS
from nnapps.store.runs import RunStore
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from test_text_table import QUOTES_NOTE, SMS_NOTES, labelled, review_sentences, sms_with_bad_lines, tsv, words

ROOT = Path(__file__).resolve().parents[1]
TRAIN_MLP = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "2", "--json"]
# A small GRU and short texts keep this under a few seconds; the options reach the config.
TRAIN_GRU = ["train", "--dataset", "reviews", "--model", "gru", "--epochs", "1", "--json",
             "--hidden", "16", "--embed-dim", "16", "--max-len", "32"]
MLP_PARAMS = 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
# Every result line of train --json has these keys.
RESULT_KEYS = {"run_id", "dataset", "model", "label", "status", "cached", "accuracy", "macro_f1",
               "log_loss", "params", "train_seconds", "epochs_run", "infer_ms_per_sample", "hparams",
               "train", "features", "notes", "stopped_early", "best_epoch"}
RESULT_KEYS |= {"config_id"}  # config_id: the config without its seed (for python -m nnapps compare)
TEXT_DEFAULTS = {"tokenizer": "word", "vocab_size": 5000, "min_freq": 1, "max_len": 64}


def make_image_folder(root):
    """3 classes x 6 tiny grey PNGs, each class a different bar (row, column or diagonal)."""
    rng = np.random.default_rng(0)
    patterns = {"rows": lambda a: a.__setitem__((slice(3, 5), slice(None)), 255),
                "cols": lambda a: a.__setitem__((slice(None), slice(3, 5)), 255),
                "diag": lambda a: np.fill_diagonal(a, 255)}
    for name, draw in patterns.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 40, (8, 8)).astype(np.uint8)
            draw(pixels)
            Image.fromarray(pixels, mode="L").save(folder / f"{i}.png")
    return root


def write_text_table(path, columns=("text", "label"), n_per_class=12):
    """A CSV of short texts: "good"/"bad" sentences labelled pos/neg, and when asked a third
    column "topic" (phone/laptop, independent of the sentiment) and a column "id"."""
    rows = []
    for i in range(n_per_class):
        for word, label in (("good", "pos"), ("bad", "neg")):
            cells = {"text": f"the item number {i} is really {word}", "label": label,
                     "topic": ("phone", "laptop")[i % 2], "id": str(len(rows))}
            rows.append(",".join(cells[c] for c in columns))
    path.write_text(",".join(columns) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


GPT_SETTINGS = ["--set", "steps=12", "--set", "eval_every=4", "--set", "n_layers=1", "--set", "width=32",
                "--set", "context=16", "--set", "batch_size=8"]


def write_corpus(path):
    path.write_text("The quick brown fox jumps over the lazy dog.\n" * 20, encoding="utf-8")
    return path


class Cli:
    """Starts python -m nnapps commands with their own NNAPPS_HOME and collects the results."""

    def __init__(self, home, data):
        self.env = {**os.environ, "NNAPPS_HOME": str(home), "NNAPPS_DATA_DIR": str(data),
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.env.pop("NNAPPS_MAX_UPLOAD_MB", None)

    def start(self, *args):
        return subprocess.Popen([sys.executable, "-m", "nnapps", *args], cwd=ROOT, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def finish(proc, timeout=180):
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    runner = Cli(tmp / "home", tmp / "data")
    folder = make_image_folder(tmp / "shapes")
    table = write_text_table(tmp / "sentiment.csv")
    sms = tmp / "sms.tsv"
    sms.write_bytes(sms_with_bad_lines())
    procs = {
        "train": runner.start(*TRAIN_MLP),
        "datasets": runner.start("datasets"),
        "models": runner.start("models", "--json"),
        "bad_dataset": runner.start("train", "--dataset", "no-such-data", "--model", "mlp", "--json"),
        "folder": runner.start("train", "--dataset", str(folder), "--model", "logreg", "--json"),
        "gru": runner.start(*TRAIN_GRU),
        "csv": runner.start("train", "--dataset", str(table), "--model", "tfidf", "--json"),
        "sms": runner.start("train", "--dataset", str(sms), *TRAIN_GRU[3:]),
        "gpt": runner.start("gpt", "--corpus", str(write_corpus(tmp / "fox.txt")), *GPT_SETTINGS,
                            "--json", "--export", str(tmp / "fox.safetensors")),
    }
    done = {"train": runner.finish(procs.pop("train"))}
    procs["train_again"] = runner.start(*TRAIN_MLP)  # needs the first call's stored run
    done.update({key: runner.finish(proc) for key, proc in procs.items()})
    return {**done, "home": tmp / "home", "tmp": tmp}


def one_json_object(result) -> dict:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {result.stdout!r}"
    return json.loads(lines[0])


@pytest.mark.slow
def test_datasets_lists_every_registered_dataset(results):
    r = results["datasets"]
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.strip().splitlines()]
    # Built-in first, then downloads (an upload stored by a command running alongside may follow).
    assert names[:9] == ["digits", "scattered-digits", "reviews", "spoken-digits", "mnist",
                         "fashion-mnist", "20newsgroups", "fsdd", "fsdd-speakers"]
    assert "digits               image  bundled   Digits (8x8)" in r.stdout
    assert "reviews              text   made      " in r.stdout
    assert "20newsgroups         text   download  " in r.stdout
    assert "spoken-digits        audio  made      " in r.stdout


@pytest.mark.slow
def test_models_json_lists_every_family_with_its_schema(results):
    r = results["models"]
    assert r.returncode == 0, r.stderr
    models = json.loads(r.stdout)
    assert [m["name"] for m in models] == list(CLASSIFIERS)
    for m in models:
        family = CLASSIFIERS[m["name"]]
        assert m["kind"] == family.kind and m["modalities"] == list(family.modalities)
        assert [h["name"] for h in m["hyperparameters"]] == family.schema.names()
        for h, p in zip(m["hyperparameters"], family.schema):
            assert (h["kind"], h["default"], h["low"], h["high"]) == (p.kind, p.default, p.low, p.high)
            assert h["choices"] == list(p.choices) and h["help"] == p.help


@pytest.mark.slow
def test_train_prints_one_sane_json_object(results):
    out = one_json_object(results["train"])
    assert len(out["run_id"]) == 16 and int(out["run_id"], 16) >= 0
    assert out["cached"] is False and out["status"] == "complete"
    assert (out["dataset"], out["model"]) == ("digits", "mlp")
    assert 0.8 < out["accuracy"] <= 1.0
    assert 0.0 <= out["macro_f1"] <= 1.0 and abs(out["macro_f1"] - out["accuracy"]) < 0.1
    assert 0.0 < out["log_loss"] < 2.0 and math.isfinite(out["log_loss"])
    assert out["params"] == MLP_PARAMS
    assert 0.0 < out["train_seconds"] < 60
    assert out["epochs_run"] == 2
    assert out["train"]["epochs"] == 2 and set(out["train"]) == set(TRAIN_SCHEMA.names())
    assert out["hparams"] == CLASSIFIERS["mlp"].schema.defaults()
    # Progress went to stderr, one line per epoch.
    assert results["train"].stderr.count("epoch ") == 2


@pytest.mark.slow
def test_train_result_is_stored_under_nnapps_home(results):
    out = one_json_object(results["train"])
    run = RunStore(results["home"]).get(out["run_id"])
    assert run is not None and run.metrics["accuracy"] == out["accuracy"]


@pytest.mark.slow
def test_second_identical_call_is_cached(results):
    first, again = one_json_object(results["train"]), one_json_object(results["train_again"])
    assert again["cached"] is True and again["run_id"] == first["run_id"]
    assert again["accuracy"] == first["accuracy"] and again["log_loss"] == first["log_loss"]
    assert "epoch " not in results["train_again"].stderr  # nothing was trained


def main_json(capsys, argv) -> dict:
    """cli.main in this process (same code path as python -m nnapps, minus the start-up)."""
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1, captured.out
    return json.loads(lines[0])


def test_set_equals_the_named_option(capsys):
    via_set = main_json(capsys, TRAIN_MLP + ["--set", "width=16"])
    via_option = main_json(capsys, TRAIN_MLP + ["--width", "16"])
    assert via_set["hparams"]["width"] == 16 and via_set["cached"] is False
    assert via_option["run_id"] == via_set["run_id"] and via_option["cached"] is True
    assert via_set["params"] == 64 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    default_width = main_json(capsys, TRAIN_MLP)
    assert default_width["run_id"] != via_set["run_id"]
    # --set wins over the named option when both are given.
    both = main_json(capsys, TRAIN_MLP + ["--width", "64", "--set", "width=16"])
    assert both["run_id"] == via_set["run_id"]


def test_bad_set_key_exits_2_naming_it(capsys):
    assert cli.main(TRAIN_MLP + ["--set", "widht=16"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown --set key(s) ['widht']" in captured.err
    assert "width" in captured.err.split("valid for mlp on image data:")[1]
    assert not RunStore().list_runs()  # nothing was trained


@pytest.mark.slow
def test_unknown_dataset_exits_2_listing_valid_names(results):
    r = results["bad_dataset"]
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: unknown dataset 'no-such-data'")
    assert "'digits'" in r.stderr and "'scattered-digits'" in r.stderr


@pytest.mark.slow
def test_train_on_a_folder_of_class_folders(results):
    out = one_json_object(results["folder"])
    assert out["dataset"].startswith("user-") and out["model"] == "logreg"
    assert out["status"] == "complete" and out["train"] == {"seed": 0}
    assert 0.0 <= out["accuracy"] <= 1.0 and math.isfinite(out["log_loss"])
    # 32 x 32 grey pixels after normalising, three classes: a weight per pixel and class.
    assert out["params"] == 32 * 32 * 3 + 3
    run = RunStore(results["home"]).get(out["run_id"])
    assert run.class_names == ["cols", "diag", "rows"] and run.input_info.shape == (1, 32, 32)


# ---- error paths that need no subprocess: main() returns the exit code ---------------------------


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "digits", "--model", "resnet"], "unknown model family 'resnet'"),
    (["train", "--dataset", "digits", "--model", "mlp", "--width", "1"], "width must be between 2 and 1024"),
    (["train", "--dataset", "digits", "--model", "mlp", "--set", "lr"], "expected key=value, got 'lr'"),
    (["train", "--dataset", "digits", "--model", "logreg", "--set", "C=0"], "C must be between"),
])
def test_bad_values_exit_2_with_a_message(capsys, argv, message):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_device_is_not_an_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--dataset", "digits", "--model", "mlp", "--device", "cpu"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --device cpu" in capsys.readouterr().err


def test_every_schema_parameter_is_an_option():
    for family in CLASSIFIERS.values():
        parser = cli._train_parser(family.name)
        options = {a.dest for a in parser._actions}
        assert set(family.schema.names()) | set(TRAIN_SCHEMA.names()) <= options


def test_datasets_json_in_process(capsys):
    assert cli.main(["datasets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in listed] == list(dataset_specs())


# ---- text ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_gru_on_reviews_prints_one_sane_json_object(results):
    out = one_json_object(results["gru"])
    assert set(out) == RESULT_KEYS
    assert len(out["run_id"]) == 16 and int(out["run_id"], 16) >= 0
    assert (out["dataset"], out["model"], out["status"]) == ("reviews", "gru", "complete")
    assert 0.0 <= out["accuracy"] <= 1.0 and 0.0 <= out["macro_f1"] <= 1.0
    assert 0.0 < out["log_loss"] < 5.0 and math.isfinite(out["log_loss"])
    assert out["params"] > 0 and 0.0 < out["train_seconds"] < 60 and out["epochs_run"] == 1
    assert out["features"] == {**TEXT_DEFAULTS, "max_len": 32}
    assert out["hparams"] == {**CLASSIFIERS["gru"].schema.defaults(), "hidden": 16, "embed_dim": 16}
    assert results["gru"].stderr.count("epoch ") == 1
    run = RunStore(results["home"]).get(out["run_id"])
    assert run.preprocessor["kind"] == "text_tokenizer" and run.preprocessor["level"] == "word"
    assert run.input_info.shape == (32,) and run.input_info.vocab_size == len(run.preprocessor["vocab"])


@pytest.mark.slow
def test_train_tfidf_on_a_csv_file(results):
    out = one_json_object(results["csv"])
    assert set(out) == RESULT_KEYS
    assert out["dataset"].startswith("user-") and out["model"] == "tfidf"
    assert out["status"] == "complete" and out["train"] == {"seed": 0}
    assert out["features"] == TEXT_DEFAULTS
    assert out["accuracy"] == 1.0  # "good" or "bad" says it all
    run = RunStore(results["home"]).get(out["run_id"])
    assert run.class_names == ["neg", "pos"] and run.preprocessor["kind"] == "text_tokenizer"


def test_train_gru_on_an_sms_collection_reports_what_it_skipped(results):
    out = one_json_object(results["sms"])
    assert set(out) == RESULT_KEYS and out["status"] == "complete" and out["model"] == "gru"
    assert out["notes"] == SMS_NOTES
    assert [f"note: {note}" for note in SMS_NOTES] == [
        line for line in results["sms"].stderr.splitlines() if line.startswith("note: ")]
    run = RunStore(results["home"]).get(out["run_id"])
    assert run.class_names == ["ham", "spam"]


def quirky_text_files() -> dict[str, tuple[bytes, list[str]]]:
    """file name -> (bytes, the notes the CLI must report): small files in the formats people
    have, each with one of their quirks."""
    rows = words(24)
    cp1252_note = ("The file is not UTF-8, so it was read as Windows-1252; check that accented "
                   "letters look right, or save it as UTF-8.")
    return {
        "sentences.txt": (tsv(review_sentences(300)), [QUOTES_NOTE]),
        "windows.csv": (labelled(rows + [("un café", "pos"), ("pas bon", "neg")], "cp1252",
                                 newline="\r\n"), [cp1252_note]),
        "excel-unicode.txt": (labelled(rows, "utf-16-le", delimiter="\t", newline="\r\n",
                                       bom=b"\xff\xfe"), []),
        "excel-utf8.csv": (labelled(rows, bom=b"\xef\xbb\xbf", newline="\r\n", tail="\r\n\r\n"), []),
        "semicolons.csv": (labelled(rows, delimiter=";"), []),
        "pipes.csv": (labelled(rows, delimiter="|"), []),
        "floats.csv": (labelled([(t, ("1.0", "0.0", " 1", "0")[i % 4]) for i, (t, _) in
                                 enumerate(rows)]), []),
        "cases.tsv": (labelled([(t, ("Spam", "ham", "spam", "HAM")[i % 4]) for i, (t, _) in
                                enumerate(rows)], delimiter="\t"), []),
        # Published without a suffix, as the UCI SMS collection is.
        "SMSSpamCollection": ("".join(f"{('ham', 'spam')[i % 2]}\t{t}\n" for i, (t, _) in
                                      enumerate(rows)).encode(), []),
    }


@pytest.mark.parametrize("filename", list(quirky_text_files()))
def test_train_gru_on_quirky_text_files(tmp_path, capsys, filename):
    data, notes = quirky_text_files()[filename]
    (tmp_path / filename).write_bytes(data)
    assert cli.main(["train", "--dataset", str(tmp_path / filename), *TRAIN_GRU[3:]]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["status"] == "complete" and out["notes"] == notes
    assert [f"note: {note}" for note in notes] == [
        line for line in captured.err.splitlines() if line.startswith("note: ")]
    assert len(RunStore().get(out["run_id"]).class_names) == 2


def test_train_on_a_big_text_file_says_it_was_sampled(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_TEXT_ROWS", "60")
    (tmp_path / "big.csv").write_bytes(labelled(words(200)))
    out = main_json(capsys, ["train", "--dataset", str(tmp_path / "big.csv"), *TRAIN_GRU[3:]])
    assert out["notes"] == ["The file has 200 usable rows; a sample of 60 was kept, each class in "
                            "its share, the same on every load (NNAPPS_MAX_TEXT_ROWS raises the "
                            "limit)."]
    assert sum(load_dataset(out["dataset"], 0).split_sizes().values()) == 60


def test_text_and_label_columns_pick_columns_of_a_wider_table(tmp_path, capsys):
    table = write_text_table(tmp_path / "wide.csv", columns=("id", "text", "label", "topic"))
    base = ["train", "--dataset", str(table), "--model", "tfidf", "--json", "--text-column", "text"]
    by_label = main_json(capsys, base + ["--label-column", "label"])
    by_topic = main_json(capsys, base + ["--label-column", "Topic"])  # names ignore case
    assert by_label["dataset"] != by_topic["dataset"]  # the columns are part of the dataset
    assert RunStore().get(by_label["run_id"]).class_names == ["neg", "pos"]
    assert RunStore().get(by_topic["run_id"]).class_names == ["laptop", "phone"]
    assert by_label["accuracy"] == 1.0


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "digits", "--model", "mlp", "--tokenizer", "char"],
     "['tokenizer'] do not apply to image data"),
    (["train", "--dataset", "digits", "--model", "mlp", "--set", "max_len=10"],
     "['max_len'] do not apply to image data"),
    (["train", "--dataset", "reviews", "--model", "mlp"], "model 'mlp' takes image data, not text"),
    (["train", "--dataset", "digits", "--model", "gru"], "model 'gru' takes text data, not image"),
    (["train", "--dataset", "reviews", "--model", "gru", "--tokenizer", "bpe"],
     "tokenizer must be one of ['word', 'char'], got 'bpe'"),
    (["train", "--dataset", "reviews", "--model", "gru", "--max-len", "1"], "max_len must be between"),
    (["train", "--dataset", "reviews", "--model", "gru", "--set", "max_lenn=8"],
     "unknown --set key(s) ['max_lenn']"),
])
def test_bad_text_options_or_modality_exit_2_with_a_message(capsys, argv, message):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err
    assert not RunStore().list_runs()


def test_missing_text_column_exits_2_naming_the_columns(tmp_path, capsys):
    table = write_text_table(tmp_path / "t.csv")
    assert cli.main(["train", "--dataset", str(table), "--model", "tfidf", "--text-column",
                     "body"]) == 2
    err = capsys.readouterr().err
    assert "no column named 'body'" in err and "'text', 'label'" in err


def test_text_options_are_train_options():
    options = {a.dest for a in cli._train_parser("gru")._actions}
    assert set(TEXT_DEFAULTS) | {"text_column", "label_column"} <= options


# --- python -m nnapps gpt --------------------------------------------------------------------

@pytest.mark.slow
def test_gpt_prints_losses_steps_speed_and_seconds(results):
    out = one_json_object(results["gpt"])
    assert {"train_loss", "val_loss", "steps", "tokens_per_s", "seconds"} <= set(out)
    assert out["steps"] == 12 and out["status"] == "complete" and not out["cached"]
    assert out["val_loss"] < math.log(out["vocab_size"])  # it learned something in 12 steps
    assert out["tokens_per_s"] > 0 and out["seconds"] > 0
    assert out["hparams"]["width"] == 32 and out["train"]["batch_size"] == 8
    assert "step    12" in results["gpt"].stderr  # progress, with samples, goes to stderr


@pytest.mark.slow
def test_gpt_export_writes_a_checkpoint_that_loads(results):
    from nnapps.gpt.runs import read_checkpoint
    out = one_json_object(results["gpt"])
    run, weights = read_checkpoint(results["tmp"] / "fox.safetensors")
    assert run.run_id == out["run_id"] and run.metrics["steps"] == 12
    assert "tok.weight" in weights and "head.weight" not in weights  # tied: stored once


@pytest.mark.parametrize("argv, message", [
    (["--corpus", "nope.txt"], "is not a file"),
    (["--corpus", "builtin", "--set", "colour=red"], "unknown --set key"),
    (["--corpus", "builtin", "--set", "context=9999"], "context must be between"),
    (["--corpus", "shakespeare"], "offline"),
])
def test_gpt_bad_arguments_exit_2_with_a_message(capsys, monkeypatch, argv, message):
    from nnapps.data import corpora
    monkeypatch.setattr(corpora, "SHAKESPEARE_URLS", ("http://127.0.0.1:9/input.txt",))
    assert cli.main(["gpt", *argv]) == 2
    assert message in capsys.readouterr().err


def test_gpt_on_a_text_that_is_not_utf8_exits_2(tmp_path, capsys):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café ".encode("latin-1") * 100)
    assert cli.main(["gpt", "--corpus", str(path)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_runs_lists_whose_each_run_is_and_delete_removes_it(capsys):
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig
    store = RunStore()
    example = train_run(RunConfig.make("digits", "logreg"), store)
    visitors = train_run(RunConfig.make("digits", "mlp", {"width": 8}, {"epochs": 1}), store, owner="a" * 32)
    store.claim(visitors.run_id, "b" * 32)
    assert cli.main(["runs", "--json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[example.run_id]["everyone"] and rows[example.run_id]["visitors"] == 0
    assert not rows[visitors.run_id]["everyone"] and rows[visitors.run_id]["visitors"] == 2
    assert all(r["mb"] > 0 for r in rows.values())
    assert cli.main(["delete", example.run_id]) == 0
    assert store.get(example.run_id) is None
    assert cli.main(["delete", example.run_id]) == 2
    assert "no stored run" in capsys.readouterr().err


def test_train_says_why_it_stopped_early(tmp_path):
    """A large step size makes validation loss bounce; with patience 1 the first worse epoch ends
    the training, and the output says so (as test_training's early-stopping test shows)."""
    runner = Cli(tmp_path / "home", tmp_path / "data")
    done = runner.finish(runner.start("train", "--dataset", "digits", "--model", "mlp", "--epochs", "50",
                                      "--lr", "0.05", "--patience", "1"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Stopped early at epoch ") and lines[1].endswith(
        "of 50: validation loss had not improved for 1 epoch (patience), so the weights of epoch "
        f"{int(lines[1].split()[4]) - 1}, the best, were kept.")
