"""Which model is better, and is it real: runs grouped over seeds, their spread, and a paired
verdict for two configs on the same test split (McNemar's exact test, a bootstrap interval)."""

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from nnapps.store.runs import Run, RunConfig

N_BOOTSTRAP = 2000
CONFIDENCE = 0.95


def config_id(config: RunConfig) -> str:
    """The identity of a config without its training seed: runs that differ only in the seed
    share it (16 hex digits, like a run id)."""
    d = asdict(config)
    d["train"] = {k: v for k, v in d["train"].items() if k != "seed"}
    blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def seed_of(run: Run) -> int:
    return int(run.config.train.get("seed", 0))


@dataclass
class SeedGroup:
    """Runs of one config that differ only in the seed, ordered by seed."""

    config_id: str
    runs: list[Run]

    @property
    def seeds(self) -> list[int]:
        return [seed_of(r) for r in self.runs]

    def label(self) -> str:
        """The config's label; with several seeds, without the first one's seed and with the count."""
        if len(self.runs) == 1:
            return self.runs[0].label
        first = self.runs[0].config
        unseeded = RunConfig(**{**asdict(first), "train": {**first.train, "seed": 0}}).label()
        return f"{unseeded} ×{len(self.runs)} seeds"

    def spread(self, metric: str) -> tuple[float, float]:
        """Mean and sample standard deviation (ddof 1; 0 for one seed) of a scalar metric."""
        values = np.array([r.metrics[metric] for r in self.runs], dtype=float)
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def __repr__(self) -> str:
        return f"SeedGroup({self.config_id}, {self.label()!r}, seeds={self.seeds})"


def group_runs(runs: list[Run]) -> list[SeedGroup]:
    """Runs grouped by config_id, in the order each group's first run comes in runs."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(config_id(run.config), []).append(run)
    return [SeedGroup(key, sorted(members, key=seed_of)) for key, members in groups.items()]


def resolve_group(store, key: str) -> SeedGroup:
    """The stored runs a command-line name means: a run id names that run alone, a config id
    (config_id) every stored seed of that config."""
    run = store.get(key)
    if run is not None:
        return SeedGroup(config_id(run.config), [run])
    members = [r for r in store.list_runs() if config_id(r.config) == key]
    if not members:
        raise ValueError(f"no stored run or config {key!r} (python -m nnapps runs lists run ids; "
                         "python -m nnapps train --json prints run and config ids)")
    return group_runs(members)[0]


@dataclass
class SeedPair:
    """One seed of A against one seed of B on the same test samples."""

    seed_a: int
    seed_b: int
    only_a_right: int   # discordant: A right, B wrong
    only_b_right: int   # discordant: A wrong, B right
    accuracy_a: float
    accuracy_b: float
    p_value: float      # McNemar's exact test: two-sided binomial test on the discordant pairs


@dataclass
class Verdict:
    """A paired comparison of two seed groups. Differences are A minus B, in accuracy (0..1)."""

    label_a: str
    label_b: str
    pairs: list[SeedPair]
    difference: float                 # mean over seed pairs of accuracy(A) - accuracy(B)
    interval: tuple[float, float]     # bootstrap CI over test samples and seed pairs
    confidence: float
    difference_matrix: list[list[float]] = field(repr=False)  # mean confusion(A) - confusion(B)

    def sentence(self) -> str:
        return verdict_sentence(self)

    def to_dict(self) -> dict:
        return {"a": self.label_a, "b": self.label_b, "difference": self.difference,
                "interval": list(self.interval), "confidence": self.confidence,
                "pairs": [asdict(p) for p in self.pairs], "difference_matrix": self.difference_matrix,
                "sentence": self.sentence()}


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """Two-sided exact McNemar p-value: under "equally good", each discordant sample is a fair
    coin between the two models. 1.0 when there are no discordant samples."""
    from scipy.stats import binomtest
    n = only_a_right + only_b_right
    return 1.0 if n == 0 else float(binomtest(only_a_right, n, 0.5).pvalue)


def confusion_counts(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """(K, K) confusion matrix of proba's predictions: rows the true class, columns the predicted."""
    k = proba.shape[1]
    cells = np.zeros((k, k), dtype=np.int64)
    np.add.at(cells, (y_true, proba.argmax(axis=1)), 1)
    return cells


def confusion_difference(y_true: np.ndarray, proba_a: np.ndarray, proba_b: np.ndarray) -> np.ndarray:
    """(K, K) confusion(A) - confusion(B)."""
    return confusion_counts(y_true, proba_a) - confusion_counts(y_true, proba_b)


def paired_verdict(a: SeedGroup, b: SeedGroup, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                   confidence: float = CONFIDENCE) -> Verdict:
    """Compare A and B on their stored test probabilities. The i-th seed of A is paired with
    the i-th seed of B (sorted by seed); extra seeds of the larger group are left out.

    The interval resamples test samples and seed pairs with replacement (seeded, so the same
    runs give the same interval) and takes the percentiles of the mean accuracy difference.
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    n_pairs = min(len(a.runs), len(b.runs))
    runs_a, runs_b = a.runs[:n_pairs], b.runs[:n_pairs]
    y = runs_a[0].y_test
    for run in runs_a + runs_b:
        if not np.array_equal(run.y_test, y):
            raise ValueError(f"{run.label} was tested on other samples than {runs_a[0].label}; "
                             "a paired verdict needs runs on the same test split")
    right_a = np.stack([r.test_proba.argmax(axis=1) == y for r in runs_a])  # (P, N)
    right_b = np.stack([r.test_proba.argmax(axis=1) == y for r in runs_b])
    pairs = []
    for i, (ra, rb) in enumerate(zip(runs_a, runs_b)):
        only_a = int((right_a[i] & ~right_b[i]).sum())
        only_b = int((~right_a[i] & right_b[i]).sum())
        pairs.append(SeedPair(seed_of(ra), seed_of(rb), only_a, only_b, float(right_a[i].mean()),
                              float(right_b[i].mean()), mcnemar_exact(only_a, only_b)))
    diff = (right_a.astype(np.int8) - right_b.astype(np.int8)).astype(float)  # (P, N)
    interval = _bootstrap_interval(diff, n_bootstrap, seed, confidence)
    matrix = np.mean([confusion_difference(y, ra.test_proba, rb.test_proba)
                      for ra, rb in zip(runs_a, runs_b)], axis=0)
    return Verdict(a.label(), b.label(), pairs, float(diff.mean()), interval, confidence,
                   [[float(v) for v in row] for row in matrix])


def _bootstrap_interval(diff: np.ndarray, n_bootstrap: int, seed: int, confidence: float,
                        chunk: int = 200) -> tuple[float, float]:
    """Percentile interval of the mean of diff (P seed pairs, N samples) when both the pairs
    and the samples are drawn again with replacement."""
    rng = np.random.default_rng(seed)
    n_pairs, n = diff.shape
    means = []
    for start in range(0, n_bootstrap, chunk):
        size = min(chunk, n_bootstrap - start)
        # How often each sample and each pair is drawn, instead of the draws themselves.
        sample_weights = rng.multinomial(n, np.full(n, 1 / n), size=size)            # (S, N)
        pair_weights = rng.multinomial(n_pairs, np.full(n_pairs, 1 / n_pairs), size=size)  # (S, P)
        per_pair = sample_weights @ diff.T / n                                          # (S, P)
        means.append((per_pair * pair_weights).sum(axis=1) / n_pairs)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(np.concatenate(means), [tail, 100 - tail])
    return float(lo), float(hi)


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict_sentence(v: Verdict) -> str:
    """One plain sentence, told from the better model's side (A's when they tie)."""
    n = len(v.pairs)
    flip = v.difference < 0
    win, lose = (v.label_b, v.label_a) if flip else (v.label_a, v.label_b)
    wins = sum(1 for p in v.pairs if (p.accuracy_b > p.accuracy_a if flip else p.accuracy_a > p.accuracy_b))
    right = [p.only_b_right if flip else p.only_a_right for p in v.pairs]
    wrong = [p.only_a_right if flip else p.only_b_right for p in v.pairs]
    lo, hi = (-v.interval[1], -v.interval[0]) if flip else v.interval
    digits = 0 if n == 1 else 1
    counts = (("" if n == 1 else "Per seed on average, ")
              + f"{win} is right on {np.mean(right):,.{digits}f} test samples where {lose} is wrong, "
              f"and wrong on {np.mean(wrong):,.{digits}f} where it is right")
    if v.difference == 0:
        return (f"{counts}: no difference in accuracy ({100 * v.confidence:.0f}% CI {100 * lo:.1f} to "
                f"{100 * hi:.1f} points).")
    ps = [p.p_value for p in v.pairs]
    p_part = _p_text(ps[0]) if n == 1 else (
        "p < 0.001 in every seed" if max(ps) < 0.001 else f"McNemar's p at most {max(ps):.3f} across seeds")
    luck = "; an interval that includes 0 means the difference may be luck" if lo <= 0 <= hi else ""
    return (f"{counts}: better by {100 * abs(v.difference):.1f} points, {100 * v.confidence:.0f}% CI "
            f"{100 * lo:.1f} to {100 * hi:.1f}, {p_part}" + (f", in {wins} of {n} seeds" if n > 1 else "")
            + f"{luck}.")


def cell_samples(y_true: np.ndarray, probas: list[np.ndarray], true_class: int, predicted: int) -> np.ndarray:
    """Indices of the test samples of true_class that any of probas' models predicts as predicted
    (one model: its confusion cell; several: the samples of that cell for any of them)."""
    if not probas:
        raise ValueError("cell_samples needs at least one model's probabilities")
    hit = np.zeros(len(y_true), dtype=bool)
    for proba in probas:
        hit |= proba.argmax(axis=1) == predicted
    return np.flatnonzero((y_true == true_class) & hit)
