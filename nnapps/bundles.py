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
schema are checked, and the weights must load into the model the config builds.
"""

import io
import json
import zipfile
from dataclasses import asdict

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load as load_tensors, save as save_tensors

from .models import InputInfo, get_family
from .runs import STATUSES, Run, RunConfig, RunStore
from .training import History

MEMBERS = ("config.json", "run.json", "history.csv", "test_probabilities.csv", "metrics.json",
           "weights.safetensors")
MAX_MEMBER_BYTES = 64 * 2**20
MAX_BUNDLE_BYTES = 100 * 2**20
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".npy", ".npz")


class BundleError(ValueError):
    """A bundle that cannot be imported, with the reason for a person."""


def export_bundle(store: RunStore, run: Run) -> bytes:
    """The run as one zip (see the module's docstring for its members)."""
    buf = io.BytesIO()
    history = pd.DataFrame([{k: getattr(e, k) for k in ("epoch", "train_loss", "train_acc", "val_loss",
                                                          "val_acc", "seconds")} for e in run.history.epochs],
                           columns=["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"])
    extra = {"status": run.status, "created": run.created, "class_names": run.class_names, "input_info": run.input_info.to_dict(),
             "preprocessor": run.preprocessor, "history": run.history.to_dict()}
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


def _proba_frame(run: Run) -> pd.DataFrame:
    frame = pd.DataFrame(run.test_proba.astype(np.float64), columns=run.class_names)
    frame.insert(0, "true_class", [run.class_names[int(i)] for i in run.y_test])
    frame.insert(0, "true_index", run.y_test.astype(np.int64))
    return frame


def read_bundle(data: bytes) -> tuple[Run, dict[str, torch.Tensor]]:
    """The run and weights a bundle holds, every part checked; BundleError says what is wrong."""
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
        run = _run(config, extra, _json(members, "metrics.json"), members["test_probabilities.csv"])
        weights = _weights(run, members["weights.safetensors"])
    return run, weights


def import_bundle(store: RunStore, data: bytes) -> Run:
    """Check a bundle and put its run into store (replacing a stored run of the same config)."""
    run, weights = read_bundle(data)
    store.put(run, weights)
    return run


def _members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    infos = archive.infolist()
    for info in infos:
        name = info.filename
        if name.lower().endswith(_PICKLE_SUFFIXES):
            raise BundleError(f"the bundle holds {name}: pickled objects are never loaded here")
        if name not in MEMBERS:
            raise BundleError(f"unexpected member {name!r}; a bundle holds only {', '.join(MEMBERS)}")
        if info.file_size > MAX_MEMBER_BYTES:
            raise BundleError(f"{name} unpacks to {info.file_size / 2**20:.0f} MB; at most "
                              f"{MAX_MEMBER_BYTES // 2**20} MB")
    if sum(i.file_size for i in infos) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle unpacks to more than {MAX_BUNDLE_BYTES // 2**20} MB")
    missing = [m for m in MEMBERS if m not in {i.filename for i in infos}]
    if missing:
        raise BundleError(f"the bundle lacks {', '.join(missing)}")
    out = {}
    for info in infos:
        # Read no more than the header promised: a forged size cannot unpack a bomb.
        with archive.open(info) as f:
            out[info.filename] = f.read(info.file_size + 1)
        if len(out[info.filename]) > info.file_size:
            raise BundleError(f"{info.filename} is larger than its entry in the zip says")
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
        if family.name == "gpt":
            from .gpt.runs import corpus_name, gpt_config
            clean = gpt_config(corpus_name(RunConfig(**raw)), raw["hparams"], raw["train"])
        else:
            from .data import get_spec
            try:
                modality = get_spec(raw["dataset"]).modality
            except Exception:
                modality = family.modalities[0]
            clean = RunConfig.make(raw["dataset"], family.name, raw["hparams"], raw["train"],
                                   int(raw["split_seed"]), raw["features"], modality=modality)
    except (TypeError, ValueError, KeyError) as exc:
        raise BundleError(f"config.json does not describe a run here: {exc}") from None
    config = RunConfig(**{**asdict(clean), "code_version": str(raw["code_version"])})
    if asdict(config) != raw:
        raise BundleError("config.json is not in the form nnapps writes (values out of their schema, or "
                          "settings this version does not have)")
    return config


def _run(config: RunConfig, extra: dict, metrics: dict, proba_csv: bytes) -> Run:
    try:
        class_names = [str(c) for c in extra["class_names"]]
        input_info = InputInfo.from_dict(extra["input_info"])
        history = History.from_dict(extra["history"])
        status, created = str(extra["status"]), float(extra["created"])
        preprocessor = extra["preprocessor"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"run.json is incomplete or malformed: {exc!r}") from None
    if status not in STATUSES:
        raise BundleError(f"run.json: status must be one of {STATUSES}, got {status!r}")
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise BundleError("run.json: class names must be at least two, all different")
    if not isinstance(preprocessor, dict):
        raise BundleError("run.json: the preprocessor must be a JSON object")
    if config.family != "gpt":  # a GPT's "preprocessor" only names its corpus
        from .features import preprocessor_from_state
        try:
            preprocessor_from_state(preprocessor)
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"run.json: the fitted preprocessor cannot be rebuilt: {exc!r}") from None
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
    return Run(config=config, status=status, history=history, metrics=metrics, class_names=class_names,
               input_info=input_info, preprocessor=preprocessor, test_proba=proba.astype(np.float32),
               y_test=y.astype(np.int64), created=created)


def _weights(run: Run, data: bytes) -> dict[str, torch.Tensor]:
    try:
        weights = load_tensors(data)
    except Exception as exc:  # safetensors raises its own error type for a damaged file
        raise BundleError(f"weights.safetensors cannot be read: {exc}") from None
    from .pipeline import build_model
    family = get_family(run.config.family)
    try:
        model = build_model(run.config, run.input_info, len(run.class_names))
        family.import_weights(model, weights)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"the weights do not fit the model config.json describes: "
                          f"{str(exc).splitlines()[0]}") from None
    return weights
