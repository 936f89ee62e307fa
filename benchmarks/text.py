"""Text benchmark on small data: every text family with its defaults against TF-IDF + logistic
regression, on a few thousand short sentences.

The sets are made by a generator with the noise of real short texts: words drawn with
Zipf-like frequencies, opinions that mix both sides, negated phrases ("not good"), misspelt
words, varied lengths and a share of wrong labels. Binary and multi-class, 2,000 to 5,000
sentences. Each goes through the app's own pipeline (tokenizer fitted on the training split,
the family's and the modality's defaults, early stopping on validation loss, test accuracy).
"""

import tempfile
from typing import Callable

import numpy as np

from nnapps.data import Dataset, DatasetSpec, RawData
from nnapps.data.splits import split_indices
from nnapps.models import families_for
from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore

_FILLER = ("the i it this was and a to is of my for in but with so that on they have be at as "
           "one just very really all after about we when had from an or there would what if more "
           "time get use day out up can even only first got again back two than still much been").split()
_ASPECTS = ("battery screen price delivery case sound camera charger strap box size colour fit "
            "manual app cable button lid handle zip seller service packaging quality").split()
_POSITIVE = ("great good love excellent perfect happy works nice solid recommend sturdy fast "
             "comfortable worth best easy brilliant pleased reliable lovely").split()
_NEGATIVE = ("bad poor broke terrible awful disappointed useless cheap flimsy slow returned waste "
             "worst stopped faulty annoying refund cracked hate broken").split()
_NEGATORS = ("not", "never", "hardly", "isn't", "wasn't", "don't")
# Topics of short support messages, for the multi-class sets: each has its own words, and
# shares a third of them with the next topic.
_TOPICS = {
    "billing": "invoice charged twice payment card refund bill amount fee price vat receipt".split(),
    "shipping": "parcel courier delivery tracking arrived late address shipped dispatch post box".split(),
    "account": "password login email username locked reset profile verify sign settings code".split(),
    "technical": "error crash app update screen freezes bug install loading version restart".split(),
    "returns": "return exchange label faulty wrong size send back replacement warranty item".split(),
}


def _zipf(rng: np.random.Generator, words: list[str], n: int) -> list[str]:
    weights = 1.0 / np.arange(1, len(words) + 1)
    return list(rng.choice(words, n, p=weights / weights.sum()))


def _misspell(rng: np.random.Generator, word: str) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if rng.random() < 0.5 else word[:i] + word[i + 1:]


def _noisy(rng: np.random.Generator, chunks: list[list[str]], typo: float = 0.04) -> str:
    """The chunks (a word, or a negator and its word) in a random order, some words misspelt."""
    order = rng.permutation(len(chunks))
    return " ".join(_misspell(rng, w) if rng.random() < typo else w for i in order for w in chunks[i])


def sentiment_sentence(rng: np.random.Generator, label: int, n_classes: int) -> str:
    """A short review: label 0 negative, n_classes - 1 positive, and (for 3) 1 mixed/neutral."""
    n_opinions = int(rng.integers(1, 4))
    words = [[w] for w in _zipf(rng, _FILLER, int(rng.integers(2, 12))) + _zipf(rng, _ASPECTS, int(rng.integers(1, 3)))]
    for _ in range(n_opinions):
        if n_classes == 3 and label == 1:
            positive = rng.random() < 0.5
        else:
            positive = (label == n_classes - 1) == (rng.random() < 0.8)  # one opinion in five against
        if rng.random() < 0.2:  # said through a negation of the other side
            words.append([str(rng.choice(_NEGATORS)), str(rng.choice(_NEGATIVE if positive else _POSITIVE))])
        else:
            words.append([str(rng.choice(_POSITIVE if positive else _NEGATIVE))])
    return _noisy(rng, words)


def topic_sentence(rng: np.random.Generator, label: int, n_classes: int) -> str:
    """A short support message about one topic, with words of the next topic mixed in."""
    names = list(_TOPICS)
    own, other = _TOPICS[names[label]], _TOPICS[names[(label + 1) % n_classes]]
    words = _zipf(rng, _FILLER, int(rng.integers(3, 14))) + _zipf(rng, own, int(rng.integers(1, 3)))
    if rng.random() < 0.4:
        words += _zipf(rng, other, 1)
    return _noisy(rng, [[w] for w in words])


# name: (sentence maker, classes, sentences)
SETS: dict[str, tuple[Callable, list[str], int]] = {
    "reviews-2k": (sentiment_sentence, ["negative", "positive"], 2000),
    "reviews-5k": (sentiment_sentence, ["negative", "positive"], 5000),
    "reviews-3class-3k": (sentiment_sentence, ["negative", "mixed", "positive"], 3000),
    "support-5topics-3k": (topic_sentence, list(_TOPICS), 3000),
}
LABEL_NOISE = 0.05


def make_set(name: str, seed: int = 0) -> Dataset:
    """The named set, split as the app splits an upload (stratified, seeded)."""
    maker, classes, n = SETS[name]
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n)
    X = np.array([maker(rng, int(label), len(classes)) for label in y], dtype=object)
    flip = rng.random(n) < LABEL_NOISE  # some labels are wrong, as in real annotations
    y = np.where(flip, rng.integers(0, len(classes), n), y).astype(np.int64)
    raw = RawData(X, y, classes)
    spec = DatasetSpec(name=f"bench-{name}", title=name, modality="text", origin="made",
                       licence="made by nnapps", description="a benchmark set", load=lambda s, p: raw)
    train, val, test = split_indices(raw.y, seed)
    return Dataset(spec=spec, seed=seed, class_names=classes, X_train=X[train], y_train=y[train],
                   X_val=X[val], y_val=y[val], X_test=X[test], y_test=y[test])


def small_text(quick: bool = False, log: Callable[[str], None] = print,
               names: tuple[str, ...] = tuple(SETS)) -> list[dict]:
    """Every text family's test accuracy on each named set, and its points above or below
    TF-IDF's. quick: the first two sets, five epochs."""
    names = names[:2] if quick else names
    families = [f.name for f in families_for("text")]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        for name in names:
            ds = make_set(name)
            log(f"text on small data: {name} ({len(ds.y_train)} training sentences)")
            acc = {}
            for family in families:
                config = RunConfig.make(ds.name, family, train={"epochs": 5} if quick else None,
                                        modality="text")
                run = train_run(config, store, dataset=ds)
                acc[family] = (run.metrics["accuracy"], run.metrics["epochs_run"], run.metrics["train_seconds"])
            base = acc["tfidf"][0]
            out.append({"set": name, "classes": len(ds.class_names), "train": len(ds.y_train),
                        "test": len(ds.y_test),
                        "families": {f: {"accuracy": a, "points_vs_tfidf": 100 * (a - base), "epochs": e,
                                         "train_s": s} for f, (a, e, s) in acc.items()}})
    return out
