"""Run bundles: one zip holding all of a run, to download, share and import elsewhere.

A bundle holds exactly these members:
  config.json              the RunConfig: what determines the run
  run.json                 status, creation time, modality, class names, input shape, the
                           fitted preprocessor's state and the full per-epoch history
  history.csv              the per-epoch figures, for a spreadsheet
  test_probabilities.csv   every test item's true class and each class's probability
  metrics.json
  weights.safetensors

Only JSON, CSV and safetensors are read, nothing is unpickled; member names, sizes and every
schema are checked, and the weights must load into the model the config builds, all finite.
When the run's dataset (or GPT text) is on this copy, the model is rebuilt from the weights and
the fitted preprocessor and its test probabilities recomputed: a bundle whose weights do not
give its probabilities is refused. What differs by the family's task (a classifier's
preprocessor and dataset, a language model's vocabulary and text) is in the module TASK_PARTS
names for it; this one reads and checks what every run has. An imported run is kept apart from the runs trained here
(runs.Provenance): it never answers a request to train its config, and replaces nothing.
"""

import hashlib
import io
import json
import time
import zipfile
from dataclasses import asdict

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load as load_tensors, save as save_tensors

from nnapps.gpt import bundle as language_model_part
from nnapps.models import CLASSIFIER, LANGUAGE_MODEL, InputInfo, get_family
from nnapps.store import classifier_bundle
from nnapps.store.bundle_checks import BundleError
from nnapps.store.retention import check_room
from nnapps.store.runs import EVERYONE, STATUSES, Provenance, Run, RunConfig, RunStore
from nnapps.training.loop import History

# Each task's part of an import: clean_config, check_inputs, metrics, data_here and
# recompute_proba, with the same signatures.
TASK_PARTS = {CLASSIFIER: classifier_bundle, LANGUAGE_MODEL: language_model_part}

MEMBERS = ("config.json", "run.json", "history.csv", "test_probabilities.csv", "metrics.json",
           "weights.safetensors")
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
MAX_MEMBER_BYTES = 64 * 2**20
MAX_BUNDLE_BYTES = 100 * 2**20
# JSON is parsed whole, at several times its size in memory: its members get tighter bounds.
MEMBER_BYTES = {"config.json": 64 * 2**10, "metrics.json": 4 * 2**20, "run.json": 16 * 2**20,
                "history.csv": 4 * 2**20}
MAX_RATIO = 200  # unpacked size over packed size: beyond it, a member is a bomb, not data
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".npy", ".npz")
# Recomputed test probabilities may differ from a bundle's by this much (another machine's
# float rounding, the CSV's decimals); a model that is not the bundle's differs by far more.
PROBA_TOLERANCE = 1e-3


def export_bundle(store: RunStore, run: Run) -> bytes:
    """The run as one zip (see the module's docstring for its members)."""
    buf = io.BytesIO()
    # A language model's history is by step: its first column says so.
    history = pd.DataFrame([[getattr(e, k) for k in HISTORY_COLUMNS] for e in run.history.epochs],
                           columns=[run.history.unit, *HISTORY_COLUMNS[1:]])
    extra = {"status": run.status, "created": run.created, "class_names": run.class_names,
             "input_info": run.input_info.to_dict(), "preprocessor": run.preprocessor,
             "history": run.history.to_dict()}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(run.config.to_dict(), indent=2))
        z.writestr("run.json", json.dumps(extra))
        z.writestr("history.csv", history.to_csv(index=False))
        z.writestr("test_probabilities.csv", _proba_frame(run).to_csv(index=False))
        z.writestr("metrics.json", json.dumps(run.metrics, indent=2))
        z.writestr("weights.safetensors", save_tensors(
            {k: v.detach().cpu().contiguous() for k, v in store.load_weights(run.run_id).items()}))
    return buf.getvalue()


def bundle_name(run: Run) -> str:
    dataset = "".join(c if c.isalnum() or c in "-_" else "-" for c in run.config.dataset)
    return f"nnapps-{dataset}-{run.config.family}-{run.run_id}.zip"


def _part(config: RunConfig):
    """The module holding what is particular to the task of config's family."""
    return TASK_PARTS[get_family(config.family).task]


def _proba_frame(run: Run) -> pd.DataFrame:
    frame = pd.DataFrame(run.test_proba.astype(np.float64), columns=run.class_names)
    frame.insert(0, "true_class", [run.class_names[int(i)] for i in run.y_test])
    frame.insert(0, "true_index", run.y_test.astype(np.int64))
    return frame


def read_bundle(data: bytes, by: str = EVERYONE) -> tuple[Run, dict[str, torch.Tensor]]:
    """The run and weights a bundle holds, every part checked, as imported now by `by` (its
    Provenance); BundleError says what is wrong."""
    try:
        return _read_bundle(data, by)
    except BundleError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, RecursionError, ValueError, KeyError,
            TypeError, OverflowError, EOFError, OSError) as exc:
        # A forged size, a bad checksum, an encrypted member, text where numbers belong...
        raise BundleError(f"the bundle is damaged: {type(exc).__name__}: {str(exc)[:200]}") from None


def _read_bundle(data: bytes, by: str) -> tuple[Run, dict[str, torch.Tensor]]:
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data) / 2**20:.0f} MB; at most {MAX_BUNDLE_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BundleError("this is not a zip file; a run bundle is the zip nnapps downloads") from None
    with archive:
        members = _members(archive)
        config = _config(_json(members, "config.json"))
        extra = _json(members, "run.json")
        run, here = _run(config, extra, _json(members, "metrics.json"), members["test_probabilities.csv"])
        weights, model = _weights(run, members["weights.safetensors"])
    checked = _recompute(run, model, here)
    # The key is the bundle's: the same file imported twice (by anyone) is one run.
    run.provenance = Provenance(by=by, at=run.created, checked=checked,
                                key=hashlib.sha256(data).hexdigest()[:12])
    return run, weights


def import_bundle(store: RunStore, data: bytes, owner: str = EVERYONE) -> Run:
    """Check a bundle and put its run into store as owner's import, apart from the runs trained
    here (see runs.Provenance): nothing stored is replaced. The same bundle imported again (by
    owner or another visitor) is the run stored then, now owner's too."""
    run, weights = read_bundle(data, by=owner)
    check_room(store, owner, [run.run_id])
    stored = store.get(run.run_id)
    if stored is not None:
        store.claim(run.run_id, owner)
        return stored
    store.put(run, weights, owner)
    return run


def _members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):  # which of two is read depends on the reader: neither
        twice = sorted({n for n in names if names.count(n) > 1})
        raise BundleError(f"the bundle holds {', '.join(twice)} more than once")
    for info in infos:
        name = info.filename
        if name.lower().endswith(_PICKLE_SUFFIXES):
            raise BundleError(f"the bundle holds {name}: pickled objects are never loaded here")
        if name not in MEMBERS:
            raise BundleError(f"unexpected member {name!r}; a bundle holds only {', '.join(MEMBERS)}")
        cap = MEMBER_BYTES.get(name, MAX_MEMBER_BYTES)
        if info.file_size > cap:
            raise BundleError(f"{name} unpacks to {info.file_size / 2**20:.1f} MB; at most "
                              f"{cap / 2**20:g} MB")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) + 2**16:
            raise BundleError(f"{name} unpacks to {info.file_size // max(info.compress_size, 1)} times its "
                              "packed size: that is a zip bomb, not a run")
    if sum(i.file_size for i in infos) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle unpacks to more than {MAX_BUNDLE_BYTES // 2**20} MB")
    missing = [m for m in MEMBERS if m not in {i.filename for i in infos}]
    if missing:
        raise BundleError(f"the bundle lacks {', '.join(missing)}")
    out = {}
    for info in infos:
        # zipfile reads no more than the entry's size and checks its CRC: a forged size fails.
        with archive.open(info) as f:
            out[info.filename] = f.read(info.file_size)
    return out


def _json(members: dict[str, bytes], name: str):
    try:
        value = json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BundleError(f"{name} must hold a JSON object")
    return value


def _config(raw: dict) -> RunConfig:
    fields = set(RunConfig.__dataclass_fields__)
    if set(raw) != fields:
        raise BundleError(f"config.json must have exactly the fields {sorted(fields)}; it has {sorted(raw)}")
    try:
        family = get_family(raw["family"])
        clean = TASK_PARTS[family.task].clean_config(raw, family)
    except (TypeError, ValueError, KeyError) as exc:
        raise BundleError(f"config.json does not describe a run here: {exc}") from None
    config = RunConfig(**{**asdict(clean), "code_version": str(raw["code_version"])})
    if asdict(config) != raw:
        raise BundleError("config.json is not in the form nnapps writes (values out of their schema, or "
                          "settings this version does not have)")
    return config


def _run(config: RunConfig, extra: dict, metrics: dict, proba_csv: bytes):
    """The run a bundle's parts describe, and what its task's data_here found of its data here."""
    try:
        class_names = [str(c) for c in extra["class_names"]]
        input_info = InputInfo.from_dict(extra["input_info"])
        history = History.from_dict(extra["history"])
        status = str(extra["status"])
        float(extra["created"])  # must be a date; the imported run is dated now
        preprocessor = extra["preprocessor"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"run.json is incomplete or malformed: {exc!r}") from None
    if status not in STATUSES:
        raise BundleError(f"run.json: status must be one of {STATUSES}, got {status!r}")
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise BundleError("run.json: class names must be at least two, all different")
    if not isinstance(preprocessor, dict):
        raise BundleError("run.json: the preprocessor must be a JSON object")
    part = _part(config)
    part.check_inputs(preprocessor, input_info)
    try:
        frame = pd.read_csv(io.BytesIO(proba_csv))
    except (ValueError, pd.errors.ParserError) as exc:
        raise BundleError(f"test_probabilities.csv cannot be read: {exc}") from None
    if list(frame.columns) != ["true_index", "true_class", *class_names]:
        raise BundleError("test_probabilities.csv must have the columns true_index, true_class and one "
                          "per class, in the order of run.json's class names")
    proba = frame[class_names].to_numpy(dtype=np.float64, na_value=np.nan)
    y = frame["true_index"].to_numpy()
    if not np.issubdtype(y.dtype, np.integer) or len(y) and (y.min() < 0 or y.max() >= len(class_names)):
        raise BundleError("test_probabilities.csv: true_index must be class indexes")
    if not np.isfinite(proba).all() or (proba < 0).any() or (proba > 1).any():
        raise BundleError("test_probabilities.csv: probabilities must be numbers between 0 and 1")
    if len(proba) and not np.allclose(proba.sum(1), 1.0, atol=1e-3):
        raise BundleError("test_probabilities.csv: each row's probabilities must add up to 1")
    here = part.data_here(config, class_names, input_info, preprocessor, y)
    return Run(config=config, status=status, history=history,
               metrics=part.metrics(metrics, y, proba), class_names=class_names,
               input_info=input_info, preprocessor=preprocessor, test_proba=proba.astype(np.float32),
               # Imported now: a date from the bundle would sort it among a page's newest forever.
               y_test=y.astype(np.int64), created=time.time()), here


def _weights(run: Run, data: bytes):
    """The bundle's weights (all finite) and the model they load into."""
    try:
        weights = load_tensors(data)
    except Exception as exc:  # safetensors raises its own error type for a damaged file
        raise BundleError(f"weights.safetensors cannot be read: {exc}") from None
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise BundleError(f"weights.safetensors: {name[:80]} holds NaN or infinite numbers")
    from nnapps.training.pipeline import build_model
    family = get_family(run.config.family)
    try:
        model = build_model(run.config, run.input_info, len(run.class_names))
        family.import_weights(model, weights)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"the weights do not fit the model config.json describes: "
                          f"{str(exc).splitlines()[0]}") from None
    return weights, model


def _recompute(run: Run, model, here) -> str:
    """What was checked of the run's test probabilities against its data here (here from its
    task's data_here); BundleError when the weights do not give them."""
    if isinstance(here, str):
        return f"not checked: {here}"
    proba = _part(run.config).recompute_proba(run, model, here)
    if proba.shape != run.test_proba.shape:
        raise BundleError(f"its weights give {proba.shape[0]} test probabilities here, the bundle holds "
                          f"{run.test_proba.shape[0]}")
    gap = float(np.abs(proba - run.test_proba).max()) if len(proba) else 0.0
    if not gap <= PROBA_TOLERANCE:
        raise BundleError("its weights do not give its test probabilities: recomputed here from the "
                          f"weights, they differ by up to {gap:.3g} (at most {PROBA_TOLERANCE:g} "
                          "allowed); the bundle was changed after it was made")
    return f"test probabilities recomputed here from its weights (within {PROBA_TOLERANCE:g})"
