"""Sweeps: one dataset, one or more families, a grid (or a random sample of it) of settings, times seeds.

A Sweep is plain data; trials() turns it into ordinary RunConfigs, one per grid point and seed,
so each trial has the ordinary run identity and a stored one is answered at once. summarize()
groups stored runs by their config without the seed (mean and standard deviation over seeds)
and ranks them by mean validation accuracy, the split a choice may be made on; test accuracy is
reported beside it. Running and storing sweeps is nnapps.sweeps.jobs's business.

Values of a setting: a list ("0.001,0.003"), or a range with a count, linear ("lin:16:128:3")
or logarithmic ("log:1e-4:1e-2:5"); an integer setting's range values are rounded.
"""

import hashlib
import itertools
import json
import math
import random
import statistics
from dataclasses import asdict, dataclass, field

from nnapps.store.runs import Run, RunConfig

SEED = "seed"  # the training seed: TRAIN_SCHEMA's param, the one a sweep's seeds count sets


def _params(modality: str | None = None) -> dict:
    """Every setting a sweep may vary, by name: training, representation and model params."""
    from nnapps.features import FEATURE_SCHEMAS
    from nnapps.models import CLASSIFIERS
    from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA

    found = {p.name: p for p in TRAIN_SCHEMA}
    for name, schema in FEATURE_SCHEMAS.items():
        if modality is None or name == modality:
            found.update({p.name: p for p in schema if p.name not in found})
    for family in CLASSIFIERS.values():
        found.update({p.name: p for p in family.schema if p.name not in found})
    return found


def parse_values(name: str, text: str) -> tuple:
    """The values text names for the setting name: "a,b,c", "lin:LOW:HIGH:N" or "log:LOW:HIGH:N".

    Range values are floats, rounded for an integer setting (duplicates after rounding dropped);
    list values stay strings, for RunConfig.make to check against the setting's schema."""
    text = text.strip()
    kind, _, rest = text.partition(":")
    if kind in ("lin", "log") and rest:
        parts = rest.split(":")
        if len(parts) != 3:
            raise ValueError(f"{name}={text!r}: a range is {kind}:LOW:HIGH:COUNT")
        try:
            low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{name}={text!r}: LOW and HIGH must be numbers, COUNT a whole number") from None
        if count < 1:
            raise ValueError(f"{name}={text!r}: COUNT must be at least 1")
        if kind == "log" and (low <= 0 or high <= 0):
            raise ValueError(f"{name}={text!r}: a log range needs LOW and HIGH above 0")
        steps = [i / (count - 1) if count > 1 else 0.0 for i in range(count)]
        if kind == "lin":
            values = [low + (high - low) * s for s in steps]
        else:
            values = [math.exp(math.log(low) + (math.log(high) - math.log(low)) * s) for s in steps]
        param = _params().get(name)
        if param is not None and param.kind == "int":
            values = [round(v) for v in values]
        else:
            values = [float(f"{v:.6g}") for v in values]  # 0.0010000000000000002 reads as 0.001
        return tuple(dict.fromkeys(values))
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise ValueError(f"{name}={text!r}: give at least one value")
    return values


@dataclass(frozen=True)
class Sweep:
    """What to train: families on dataset, every combination of axes' values, n_seeds seeds each.

    axes: ((setting, (value, ...)), ...); fixed: settings every trial shares. sample: train only
    this many grid points, drawn at random with sample_seed (None: the whole grid). Seeds are
    fixed's seed (default 0) and the n_seeds - 1 after it."""

    dataset: str
    families: tuple[str, ...]
    axes: tuple[tuple[str, tuple], ...] = ()
    n_seeds: int = 1
    fixed: dict = field(default_factory=dict)
    sample: int | None = None
    sample_seed: int = 0
    split_seed: int = 0

    def __post_init__(self):
        if not self.families:
            raise ValueError("a sweep needs at least one model family")
        if self.n_seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.n_seeds}")
        if self.sample is not None and self.sample < 1:
            raise ValueError(f"sample must be at least 1 point, got {self.sample}")
        names = [name for name, _ in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"a setting is given twice: {names}")
        if SEED in names and self.n_seeds > 1:
            raise ValueError("give either seed values or a seeds count, not both")
        known = _params()
        unknown = sorted(n for n in [*names, *self.fixed] if n not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; valid: {sorted(known)}")

    @classmethod
    def make(cls, dataset: str, families, settings: dict[str, str], n_seeds: int = 1, **kwargs) -> "Sweep":
        """A sweep from settings as text ({"lr": "log:1e-4:1e-2:3", "epochs": "2"}): one value fixes
        a setting, several make an axis."""
        axes, fixed = [], dict(kwargs.pop("fixed", {}))
        for name, text in settings.items():
            values = parse_values(name, str(text))
            if len(values) == 1:
                fixed[name] = values[0]
            else:
                axes.append((name, values))
        return cls(dataset, tuple(families), tuple(axes), n_seeds, fixed, **kwargs)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Sweep":
        return cls(d["dataset"], tuple(d["families"]), tuple((n, tuple(v)) for n, v in d["axes"]),
                   d["n_seeds"], d["fixed"], d["sample"], d["sample_seed"], d["split_seed"])

    def sweep_id(self, owner: str) -> str:
        """The same definition asked for by the same owner is the same sweep (resumed, not repeated)."""
        blob = json.dumps([self.to_dict(), owner], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        axes = ", ".join(f"{n}={list(v)}" for n, v in self.axes)
        return f"Sweep({self.dataset!r}, {list(self.families)}, {axes}, seeds={self.n_seeds})"


@dataclass(frozen=True)
class Trial:
    """One grid point and seed: its config, or why it has none (a bad setting)."""

    index: int
    family: str
    settings: dict  # the axes' values of this point (the seed not among them)
    seed: int
    config: RunConfig | None
    error: str | None = None

    @property
    def group(self) -> str:
        """The config without its seed: trials differing only in seed share it."""
        return json.dumps([self.family, self.settings], sort_keys=True, default=str)


def _split_names(family: str, modality: str) -> tuple[list[str], list[str], list[str]]:
    """The names family takes on modality's data: (hyperparameters, training, representation)."""
    from nnapps.features import feature_schema
    from nnapps.models import get_family
    from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA

    return get_family(family).schema.names(), TRAIN_SCHEMA.names(), feature_schema(modality).names()


def _split(settings: dict, family: str, modality: str) -> tuple[dict, dict, dict]:
    """settings shared out into (hyperparameters, training, representation) for family."""
    return tuple({k: v for k, v in settings.items() if k in names}
                 for names in _split_names(family, modality))


def trials(sweep: Sweep) -> list[Trial]:
    """Every trial of sweep, grid point by grid point, seeds innermost. A setting a family does not
    take is not varied for it; a point whose settings a family refuses is a trial with an error.
    Raises ValueError for a dataset or family that does not exist."""
    from nnapps.data import get_spec

    spec = get_spec(sweep.dataset)
    takes = {family: set().union(*_split_names(family, spec.modality)) for family in sweep.families}
    unused = sorted(n for n in [*(n for n, _ in sweep.axes), *sweep.fixed]
                    if not any(n in names for names in takes.values()))
    if unused:
        raise ValueError(f"setting(s) {unused} apply to none of {list(sweep.families)} on "
                         f"{spec.modality} data")
    points = []
    for family in sweep.families:
        axes = [(n, v) for n, v in sweep.axes if n in takes[family]]
        for combo in itertools.product(*(values for _, values in axes)):
            points.append((family, dict(zip((n for n, _ in axes), combo))))
    if sweep.sample is not None and sweep.sample < len(points):
        chosen = sorted(random.Random(sweep.sample_seed).sample(range(len(points)), sweep.sample))
        points = [points[i] for i in chosen]
    base_seed = _params()[SEED].coerce(sweep.fixed.get(SEED, 0))
    out, seen = [], set()
    for family, settings in points:
        for seed in range(base_seed, base_seed + sweep.n_seeds):
            values = {**sweep.fixed, **settings}
            if SEED not in settings:
                values[SEED] = seed
            hparams, train, features = _split(values, family, spec.modality)
            try:
                config = RunConfig.make(sweep.dataset, family, hparams, train, sweep.split_seed, features)
            except ValueError as exc:
                out.append(Trial(len(out), family, settings, seed, None, str(exc)))
                continue
            if config.run_id in seen:  # e.g. a scikit-learn model, which ignores the training loop's lr
                continue
            seen.add(config.run_id)
            # The checked values (64, not "64"); a setting the family drops (a scikit-learn
            # model's lr) is not one of its settings.
            made = {**config.hparams, **config.train, **config.features}
            out.append(Trial(len(out), family, {n: made[n] for n in settings if n in made and n != SEED},
                             config.train.get(SEED, seed), config))
    return out


def validation_accuracy(run: Run) -> float | None:
    """The validation accuracy of the weights the run kept: the best epoch's when early stopping
    restored it, else the last epoch's; None when the run has no epochs (a scikit-learn model)."""
    epochs = run.history.epochs
    if not epochs:
        return None
    if run.config.train.get("patience", 0) > 0 and not run.history.stopped_by_user:
        best = [e for e in epochs if e.epoch == run.history.best_epoch]
        if best:
            return float(best[0].val_acc)
    return float(epochs[-1].val_acc)


@dataclass
class ConfigResult:
    """One config of a sweep over its seeds. std is the sample standard deviation (None for one seed)."""

    family: str
    settings: dict
    run_ids: list[str]
    val_mean: float | None
    val_std: float | None
    test_mean: float
    test_std: float | None

    @property
    def n_seeds(self) -> int:
        return len(self.run_ids)

    def to_dict(self) -> dict:
        return {**asdict(self), "n_seeds": self.n_seeds}


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarize(sweep_trials: list[Trial], runs: dict[str, Run]) -> list[ConfigResult]:
    """Per config (trials differing only in seed), mean and std over its complete runs, best first
    (by mean validation accuracy, then mean test accuracy). runs: run_id -> Run; a trial whose
    run is missing or stopped is left out."""
    groups: dict[str, list[tuple[Trial, Run]]] = {}
    for trial in sweep_trials:
        run = runs.get(trial.config.run_id) if trial.config is not None else None
        if run is not None and run.status == "complete":
            groups.setdefault(trial.group, []).append((trial, run))
    results = []
    for members in groups.values():
        trial = members[0][0]
        val = [v for v in (validation_accuracy(r) for _, r in members) if v is not None]
        val_mean, val_std = _mean_std(val)
        test_mean, test_std = _mean_std([float(r.metrics["accuracy"]) for _, r in members])
        results.append(ConfigResult(trial.family, trial.settings, [r.run_id for _, r in members],
                                    val_mean, val_std, test_mean, test_std))
    return sorted(results, key=lambda c: (-(c.val_mean if c.val_mean is not None else -1.0), -c.test_mean))
