"""Which words moved a prediction: the change in a class's probability when each word is removed."""

import re
from dataclasses import dataclass

import numpy as np

_WORD_SPAN = re.compile(r"\S+")
MAX_WORDS = 200  # one forward pass per word: longer texts are explained on their first words


@dataclass(frozen=True)
class WordEffect:
    """One word of the text (with its character span) and how much it raised p(class)."""

    word: str
    start: int
    end: int
    effect: float  # p(class | text) - p(class | text without this word)


def word_effects(text: str, predict, class_index: int) -> tuple[float, list[WordEffect]]:
    """p(class_index | text) and, for each whitespace-separated word, its leave-one-out effect.

    predict(list of texts) -> (N, K) probabilities, the run's preprocessor and model together,
    so every model family is explained the same way. A positive effect means the word pushed
    the prediction towards the class; removing a negative one would make the class likelier.
    """
    spans = [m.span() for m in _WORD_SPAN.finditer(text)][:MAX_WORDS]
    variants = [text] + [text[:s] + text[e:] for s, e in spans]
    proba = np.asarray(predict(variants))[:, class_index]
    base = float(proba[0])
    return base, [WordEffect(text[s:e], s, e, base - float(p)) for (s, e), p in zip(spans, proba[1:])]
