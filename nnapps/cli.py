"""The command line: list datasets and models, train (or fetch a stored run), sweep, train a GPT,
export and import run bundles, benchmark."""

import argparse
import json
import sys

# Only what every command needs: each command imports the rest (torch, scikit-learn, the
# registries) itself, so `--help` and the light commands start at once.
from nnapps.schema import Param, Schema, parse_assignments


def _add_schema_options(parser: argparse.ArgumentParser, schema: Schema, skip=()) -> None:
    for p in schema:
        if p.name in skip:
            continue
        parser.add_argument(f"--{p.name.replace('_', '-')}", dest=p.name, default=None,
                            help=_param_help(p))


def _param_help(p: Param) -> str:
    allowed = f"one of {list(p.choices)}" if p.kind == "choice" else (
        f"{p.kind} in [{p.low:g}, {p.high:g}]" if p.low is not None else p.kind)
    return f"{p.help} ({allowed}; default {p.default})"


def cmd_datasets(args) -> int:
    from nnapps.data import dataset_specs

    specs = dataset_specs()
    if args.json:
        print(json.dumps([{"name": s.name, "title": s.title, "modality": s.modality,
                           "origin": s.origin, "licence": s.licence} for s in specs.values()]))
        return 0
    for s in specs.values():
        print(f"{s.name:20} {s.modality:6} {s.origin:9} {s.title}")
    return 0


def cmd_models(args) -> int:
    """The classifiers (python -m nnapps gpt --help lists the language model's settings)."""
    from nnapps.features import FEATURE_SCHEMAS
    from nnapps.models import CLASSIFIERS
    from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA

    if args.json:
        print(json.dumps([{"name": f.name, "title": f.title, "modalities": list(f.modalities),
                           "kind": f.kind, "task": f.task,
                           "hyperparameters": [{"name": p.name, "kind": p.kind, "default": p.default,
                                                "low": p.low, "high": p.high,
                                                "choices": list(p.choices), "help": p.help}
                                               for p in f.schema]}
                          for f in CLASSIFIERS.values()]))
        return 0
    for f in CLASSIFIERS.values():
        print(f"{f.name}: {f.title} ({', '.join(f.modalities)}) - {f.description}")
        for p in f.schema:
            print(f"    --{p.name.replace('_', '-'):14} {_param_help(p)}")
    print("training options (networks):")
    for p in TRAIN_SCHEMA:
        print(f"    --{p.name.replace('_', '-'):14} {_param_help(p)}")
    for modality, schema in FEATURE_SCHEMAS.items():
        if schema.params:
            print(f"{modality} representation options:")
            for p in schema:
                print(f"    --{p.name.replace('_', '-'):14} {_param_help(p)}")
    return 0


def _train_parser(family_name: str | None) -> argparse.ArgumentParser:
    from nnapps.features import FEATURE_SCHEMAS
    from nnapps.models import CLASSIFIERS
    from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA

    parser = argparse.ArgumentParser(prog="python -m nnapps train",
                                     description="Train a model (or return its stored run).")
    parser.add_argument("--dataset", required=True,
                        help="a dataset name (python -m nnapps datasets) or a path to your own "
                             "data: a folder or zip of class folders of images or sounds, or a CSV/TSV file")
    parser.add_argument("--text-column", default=None, help="CSV/TSV: the column holding the texts")
    parser.add_argument("--label-column", default=None, help="CSV/TSV: the column holding the labels")
    parser.add_argument("--model", required=True, help=f"one of {sorted(CLASSIFIERS)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set a hyperparameter or training option; repeatable")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split")
    parser.add_argument("--seeds", type=int, default=1,
                        help="train this many seeds (--seed, --seed + 1, ...) of the config, for its "
                             "mean and spread and for python -m nnapps compare (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    _add_schema_options(parser, TRAIN_SCHEMA)
    for schema in FEATURE_SCHEMAS.values():
        _add_schema_options(parser, schema)
    if family_name in CLASSIFIERS:
        _add_schema_options(parser, CLASSIFIERS[family_name].schema, skip=TRAIN_SCHEMA.names())
    return parser


def cmd_train(argv: list[str]) -> int:
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument("--model")
    family_name = probe.parse_known_args(argv)[0].model
    args = _train_parser(family_name).parse_args(argv)

    from pathlib import Path

    from nnapps.data import DatasetUnavailable, get_spec, uploads
    from nnapps.features import FEATURE_SCHEMAS
    from nnapps.models import get_classifier
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import EVERYONE, RunConfig, RunStore
    from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
    try:
        family = get_classifier(args.model)
        if Path(args.dataset).exists():
            spec = uploads.store_path(Path(args.dataset), args.text_column, args.label_column)
            RunStore().claim(spec.name, EVERYONE)  # whoever runs the machine adds it for every visitor
        else:
            spec = get_spec(args.dataset)
        for note in spec.notes:
            print(f"note: {note}", file=sys.stderr)
        feature_names = FEATURE_SCHEMAS[spec.modality].names()
        assigned = parse_assignments(args.set)
        values = {k: v for k, v in vars(args).items() if v is not None}
        values.update(assigned)
        hparams = {k: v for k, v in values.items() if k in family.schema.names()}
        train = {k: v for k, v in values.items() if k in TRAIN_SCHEMA.names()}
        features = {k: v for k, v in values.items() if k in feature_names}
        all_features = {n for schema in FEATURE_SCHEMAS.values() for n in schema.names()}
        misplaced = sorted(k for k in values if k in all_features - set(feature_names))
        if misplaced:
            raise ValueError(f"{misplaced} do not apply to {spec.modality} data")
        unknown = set(assigned) - set(hparams) - set(train) - set(features)
        if unknown:
            raise ValueError(f"unknown --set key(s) {sorted(unknown)}; valid for {family.name} on "
                             f"{spec.modality} data: "
                             f"{family.schema.names() + TRAIN_SCHEMA.names() + feature_names}")
        from nnapps import limits
        from nnapps.analysis.comparison import config_id, group_runs
        if args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
        limits.check(limits.SEEDS, args.seeds)
        base = RunConfig.make(spec.name, family.name, hparams, train, args.split_seed, features)
        configs = [base] + [RunConfig.make(spec.name, family.name, hparams,
                                           {**train, "seed": base.train["seed"] + i}, args.split_seed, features)
                            for i in range(1, args.seeds)]
        store = RunStore()

        def on_epoch(e):
            print(f"epoch {e.epoch:3d}  train loss {e.train_loss:.4f} acc {e.train_acc:.3f}  "
                  f"val loss {e.val_loss:.4f} acc {e.val_acc:.3f}  {e.seconds:.2f}s", file=sys.stderr)

        def progress(fraction, message):
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

        import torch  # imported by the pipeline already

        done = []
        for config in configs:
            stored = store.get(config.run_id)
            cached = stored is not None and stored.status == "complete"
            # This process trains one model at a time: it may give the training all of torch's threads.
            run = stored if cached else train_run(config, store, on_epoch=on_epoch, progress=progress,
                                                  threads=torch.get_num_threads())
            done.append((config, run, cached))
    except (ValueError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = []
    for config, run, cached in done:
        m = run.metrics
        result = {"run_id": run.run_id, "config_id": config_id(config), "dataset": config.dataset,
                  "model": config.family, "label": run.label, "status": run.status, "cached": cached,
                  "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "log_loss": m["log_loss"],
                  "params": m["params"], "train_seconds": m["train_seconds"],
                  "epochs_run": m["epochs_run"], "stopped_early": run.history.stopped_early,
                  "best_epoch": run.history.best_epoch, "infer_ms_per_sample": m["infer_ms_per_sample"],
                  "hparams": config.hparams, "train": config.train, "features": config.features,
                  "notes": list(spec.notes)}
        results.append(result)
        if not args.json:
            print(f"{run.label} on {config.dataset}: accuracy {m['accuracy']:.2%}, macro-F1 "
                  f"{m['macro_f1']:.3f}, log loss {m['log_loss']:.3f}, {m['params']:,} parameters, "
                  f"{m['train_seconds']:.1f} s{' (stored run)' if cached else ''}  [run {run.run_id}]")
            note = run.history.stop_note(config.train.get("patience", 0), config.train.get("epochs", 0))
            if note:
                print(note[0].upper() + note[1:] + ".")
    group = group_runs([run for _, run, _ in done])[0]
    mean, std = group.spread("accuracy")
    if args.json:
        # One seed prints the run's object as before; several print the group with each run.
        print(json.dumps(results[0] if len(results) == 1 else {
            "config_id": group.config_id, "label": group.label(), "seeds": group.seeds,
            "accuracy_mean": mean, "accuracy_std": std, "runs": results}))
    elif len(results) > 1:
        print(f"{group.label()}: accuracy {mean:.2%} ± {std:.2%} (mean ± std over seeds {group.seeds})  "
              f"[config {group.config_id}]")
    return 0


def _gpt_parser() -> argparse.ArgumentParser:
    from nnapps.gpt.train import SCHEMA as LM_SCHEMA
    from nnapps.models.gpt import SCHEMA as GPT_SCHEMA
    parser = argparse.ArgumentParser(prog="python -m nnapps gpt",
                                     description="Train a character-level GPT (or return its stored run).")
    parser.add_argument("--corpus", required=True,
                        help="builtin (Python's documentation, offline), shakespeare (downloaded "
                             "once) or a path to a UTF-8 text file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set a model or training option; repeatable. Model: "
                             + "; ".join(f"{p.name} ({_param_help(p)})" for p in GPT_SCHEMA)
                             + ". Training: " + "; ".join(f"{p.name} ({_param_help(p)})" for p in LM_SCHEMA))
    parser.add_argument("--retrain", action="store_true", help="train even if the run is stored")
    parser.add_argument("--export", metavar="PATH", default=None,
                        help="also write the run as one safetensors checkpoint (how the shipped one is made)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def cmd_gpt(argv: list[str]) -> int:
    args = _gpt_parser().parse_args(argv)

    from pathlib import Path

    from nnapps.data import DatasetUnavailable, corpora
    from nnapps.gpt.runs import export_checkpoint, gpt_config, train_gpt_run
    from nnapps.gpt.train import SCHEMA as LM_SCHEMA
    from nnapps.models.gpt import SCHEMA as GPT_SCHEMA
    from nnapps.store.runs import RunStore
    try:
        assigned = parse_assignments(args.set)
        unknown = set(assigned) - set(GPT_SCHEMA.names()) - set(LM_SCHEMA.names())
        if unknown:
            raise ValueError(f"unknown --set key(s) {sorted(unknown)}; valid: "
                             f"{GPT_SCHEMA.names() + LM_SCHEMA.names()}")
        if args.corpus in ("builtin", "shakespeare"):
            corpus = corpora.load(args.corpus, progress=lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
        else:
            path = Path(args.corpus)
            if not path.is_file():
                raise ValueError(f"--corpus must be builtin, shakespeare or a text file; {path} is not a file")
            if path.stat().st_size > corpora.max_user_bytes():  # refused before it is read
                raise DatasetUnavailable(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; at most "
                                         f"{corpora.max_user_bytes() / 2**20:g} MB of text")
            corpus = corpora.user_text(path.read_bytes(), path.name)
            corpora.keep(corpus)
        config = gpt_config(corpus.name, {k: v for k, v in assigned.items() if k in GPT_SCHEMA.names()},
                            {k: v for k, v in assigned.items() if k in LM_SCHEMA.names()})
        store = RunStore()
        stored = store.get(config.run_id)
        cached = stored is not None and stored.status == "complete" and not args.retrain

        def on_eval(p):
            print(f"step {p.step:5d}  train loss {p.train_loss:.4f}  val loss {p.val_loss:.4f}  "
                  f"{p.seconds:6.1f}s  | {p.sample[:60]!r}", file=sys.stderr)

        run = stored if cached else train_gpt_run(config, store, corpus, on_eval=on_eval)
        if args.export:
            export_checkpoint(store, run, Path(args.export))
    except (ValueError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = run.metrics
    result = {"run_id": run.run_id, "corpus": corpus.name, "label": run.label, "status": run.status,
              "cached": cached, "train_loss": m["train_loss"], "val_loss": m["val_loss"],
              "steps": m["steps"], "tokens_per_s": m["tokens_per_s"], "seconds": m["train_seconds"],
              "params": m["params"], "next_char_accuracy": m["accuracy"], "vocab_size": len(run.class_names),
              "hparams": config.hparams, "train": config.train, "sample": m["curve"][-1]["sample"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{run.label} on {corpus.title}: train loss {m['train_loss']:.3f}, val loss "
              f"{m['val_loss']:.3f} after {m['steps']:,} steps, {m['tokens_per_s']:,.0f} tokens/s, "
              f"{m['train_seconds']:.1f} s{' (stored run)' if cached else ''}  [run {run.run_id}]")
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from nnapps.store.bundles import bundle_name, export_bundle
    from nnapps.store.runs import RunStore
    store = RunStore()
    run = store.get(args.run_id)
    if run is None:
        print(f"error: no stored run {args.run_id!r} (python -m nnapps train --json prints run ids)",
              file=sys.stderr)
        return 2
    path = Path(args.out or bundle_name(run))
    path.write_bytes(export_bundle(store, run))
    print(json.dumps({"run_id": run.run_id, "path": str(path)}) if args.json else f"wrote {path}")
    return 0


def cmd_import(args) -> int:
    from pathlib import Path

    from nnapps.store.bundles import MAX_BUNDLE_BYTES, BundleError, import_bundle
    from nnapps.store.runs import RunStore
    path = Path(args.path)
    try:
        if not path.is_file():
            raise BundleError(f"{path} is not a file")
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB; at most "
                              f"{MAX_BUNDLE_BYTES // 2**20} MB")
        run = import_bundle(RunStore(), path.read_bytes())
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = {"run_id": run.run_id, "dataset": run.config.dataset, "model": run.config.family,
              "label": run.label, "status": run.status}
    print(json.dumps(result) if args.json else f"imported {run.label} on {run.config.dataset} [run {run.run_id}]")
    return 0


def cmd_runs(args) -> int:
    from nnapps.store.runs import EVERYONE, RunStore
    store = RunStore()
    usage = {u.run_id: u for u in store.usage()}
    rows = []
    for run in store.list_runs(dataset=args.dataset):
        owners = store.owners(run.run_id)
        rows.append({"run_id": run.run_id, "dataset": run.config.dataset, "label": run.label,
                     "status": run.status, "everyone": EVERYONE in owners,
                     "visitors": len(owners - {EVERYONE}),
                     "mb": round(usage[run.run_id].bytes / 2**20, 3) if run.run_id in usage else 0.0})
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        whose = "everyone" if row["everyone"] else f"{row['visitors']} visitor(s)"
        print(f"{row['run_id']}  {row['dataset']:<16} {row['label']:<40} {row['status']:<9} "
              f"{whose:<12} {row['mb']:.2f} MB")
    return 0


def cmd_compare(args) -> int:
    from nnapps.analysis.comparison import paired_verdict, resolve_group
    from nnapps.store.runs import RunStore
    store = RunStore()
    try:
        a, b = resolve_group(store, args.a), resolve_group(store, args.b)
        verdict = paired_verdict(a, b, n_bootstrap=args.bootstrap)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**verdict.to_dict(), "a_runs": [r.run_id for r in a.runs],
                          "b_runs": [r.run_id for r in b.runs], "class_names": a.runs[0].class_names}))
    else:
        print(verdict.sentence())
    return 0


def cmd_delete(args) -> int:
    from nnapps.store.runs import RunStore
    store = RunStore()
    missing = [run_id for run_id in args.run_ids if not store.delete(run_id)]
    for run_id in missing:
        print(f"error: no stored run {run_id!r} (python -m nnapps runs lists them)", file=sys.stderr)
    return 2 if missing else 0


def _sweep_parser() -> argparse.ArgumentParser:
    from nnapps.models import CLASSIFIERS

    parser = argparse.ArgumentParser(
        prog="python -m nnapps sweep",
        description="Train a grid of settings times seeds (trials already stored are not trained "
                    "again), then print every trial and the best config by mean validation accuracy.",
        epilog="Values: a list (--set lr=0.0003,0.001,0.003), a linear range with a count "
               "(--set width=lin:32:128:4) or a log range (--set lr=log:1e-4:1e-2:5); one value fixes "
               "a setting. Exit status 1 when a trial failed (it is reported; the others go on).")
    parser.add_argument("--dataset", required=True, help="a dataset name (python -m nnapps datasets)")
    parser.add_argument("--model", required=True, action="append",
                        help=f"a family, one of {sorted(CLASSIFIERS)}; repeat (or separate by commas) for several")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUES",
                        help="a hyperparameter, training or representation setting and its values; repeatable")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per config (default 1)")
    parser.add_argument("--epochs", default=None, help="epochs of every trial (same as --set epochs=E)")
    parser.add_argument("--sample", type=int, default=None,
                        help="train only this many grid points, drawn at random (default: the whole grid)")
    parser.add_argument("--sample-seed", type=int, default=0, help="the draw's seed for --sample")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split")
    parser.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="local (this machine's executor; the default) or ray (NNAPPS_RAY_ADDRESS or "
                             "--ray-address, else an embedded Ray)")
    parser.add_argument("--ray-address", default=None,
                        help="a Ray cluster: auto, host:6379, ray://host:10001, or local (implies --executor ray)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="trials at once (default: NNAPPS_MAX_TRAININGS locally, the cluster's CPUs on Ray)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _sweep_backend(args):
    """(backend, trials at once) for the sweep command's executor options."""
    import os

    from nnapps import limits
    from nnapps.execution import executor_name, make_backend

    ray_chosen = args.executor == "ray" or args.ray_address is not None or (
        args.executor is None and executor_name() == "ray")
    if ray_chosen:
        from nnapps.execution.ray_backend import RayBackend
        backend = RayBackend(args.ray_address, num_cpus=args.parallel)
        return backend, args.parallel or backend.cpus()
    local = os.environ.get("NNAPPS_EXECUTOR", "").strip().lower()
    parallel = args.parallel or int(limits.TRAININGS.value())
    return make_backend(local if local in ("processes", "threads") else "processes", parallel), parallel


def _trial_json(t) -> dict:
    out = {"index": t.trial.index, "run_id": t.trial.config.run_id if t.trial.config else None,
           "model": t.trial.family, "settings": t.trial.settings, "seed": t.trial.seed, "state": t.state,
           "cached": t.cached, "error": t.error}
    if t.run is not None:
        from nnapps.sweeps.plan import validation_accuracy
        m = t.run.metrics
        out.update(status=t.run.status, val_accuracy=validation_accuracy(t.run), accuracy=m["accuracy"],
                   macro_f1=m["macro_f1"], log_loss=m["log_loss"], train_seconds=m["train_seconds"])
    return out


def cmd_sweep(argv: list[str]) -> int:
    args = _sweep_parser().parse_args(argv)

    from nnapps.data import DatasetUnavailable
    from nnapps.execution.jobs import JobQueue
    from nnapps.models import get_classifier
    from nnapps.store.runs import RunStore
    from nnapps.sweeps.jobs import SweepRunner
    from nnapps.sweeps.plan import Sweep
    try:
        settings = parse_assignments(args.set)
        if args.epochs is not None:
            settings["epochs"] = args.epochs
        families = [f.strip() for item in args.model for f in item.split(",") if f.strip()]
        for family in families:
            get_classifier(family)
        if args.parallel is not None and args.parallel < 1:
            raise ValueError(f"--parallel must be at least 1, got {args.parallel}")
        sweep = Sweep.make(args.dataset, families, settings, args.seeds, sample=args.sample,
                           sample_seed=args.sample_seed, split_seed=args.split_seed)
        backend, parallel = _sweep_backend(args)
    except (ValueError, ImportError, ConnectionError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    queue = JobQueue(RunStore(), parallel, backend)
    try:
        runner = SweepRunner(queue)
        try:
            sweep_id = runner.start(sweep)
        except (ValueError, DatasetUnavailable) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"sweep {sweep_id}: {len(runner.status(sweep_id).trials)} trials, {parallel} at once on "
              f"{backend.name}", file=sys.stderr)
        status = runner.wait(sweep_id)
    finally:
        queue.close()
    best = status.best
    result = {"sweep_id": status.sweep_id, "state": status.state, "counts": status.counts(),
              "trials": [_trial_json(t) for t in status.trials],
              "configs": [c.to_dict() for c in status.results], "best": best.to_dict() if best else None}
    if args.json:
        print(json.dumps(result))
    else:
        for t in result["trials"]:
            what = f"accuracy {t['accuracy']:.2%}" if "accuracy" in t else (t["error"] or t["state"])
            print(f"{t['run_id'] or '-':16}  {t['model']} {t['settings']} seed {t['seed']}: {what}")
        for c in status.results:
            spread = f" ± {c.val_std:.2%}" if c.val_std is not None else ""
            val = f"{c.val_mean:.2%}{spread}" if c.val_mean is not None else "-"
            print(f"{c.family} {c.settings}: validation {val}, test {c.test_mean:.2%} over {c.n_seeds} seed(s)")
        if best:
            print(f"best: {best.family} {best.settings}")
    return 1 if status.counts()["failed"] else 0


def cmd_bench(argv: list[str]) -> int:
    # The benchmarks sit beside the package in a checkout (benchmarks/), not inside it: imported
    # only here, so no other command pays for them.
    try:
        from benchmarks.cli import main as bench_main
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks":
            raise
        print("error: the benchmarks live in the source checkout (benchmarks/); run this from the "
              "repository's root", file=sys.stderr)
        return 2
    return bench_main(argv, prog="python -m nnapps bench")


# Subcommands that parse their own arguments (their options depend on what they are given, or
# they live beside the package): name -> (help, command taking the arguments after the name).
SELF_PARSED = {
    "train": ("train a model; see python -m nnapps train --help", cmd_train),
    "gpt": ("train a character-level GPT; see python -m nnapps gpt --help", cmd_gpt),
    "sweep": ("train a grid of settings times seeds; see python -m nnapps sweep --help", cmd_sweep),
    "bench": ("benchmark figures (speed, accuracy, memory); see python -m nnapps bench --help", cmd_bench),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SELF_PARSED:
        return SELF_PARSED[argv[0]][1](argv[1:])
    parser = argparse.ArgumentParser(prog="python -m nnapps",
                                     description="Train and compare small neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("datasets", "list datasets"), ("models", "list the classifier families")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true")
    for name, (help_text, _) in SELF_PARSED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    p = sub.add_parser("export", help="write a stored run as a bundle (zip)")
    p.add_argument("run_id")
    p.add_argument("--out", default=None, help="the zip to write (default: a name from the run)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("import", help="import a run bundle (zip) into the run store")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("runs", help="list the stored runs, whose they are and their size")
    p.add_argument("--dataset", default=None)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("compare", help="which of two stored runs (or configs over seeds) is better, and is it real")
    p.add_argument("a", metavar="RUN_OR_CONFIG_A", help="a run id, or a config id (python -m nnapps train "
                   "--json prints both) for all its stored seeds")
    p.add_argument("b", metavar="RUN_OR_CONFIG_B")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap draws for the interval")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("delete", help="delete stored runs for everyone (examples included)")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    args = parser.parse_args(argv)
    return {"datasets": cmd_datasets, "models": cmd_models, "export": cmd_export,
            "import": cmd_import, "runs": cmd_runs, "delete": cmd_delete, "compare": cmd_compare}[args.command](args)
