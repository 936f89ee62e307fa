"""The Home page's one-click examples: what each trains, and how long that took when measured."""

from dataclasses import dataclass, field

from nnapps.store.runs import RunConfig


@dataclass(frozen=True)
class Example:
    """One card: a button that trains families on dataset with their defaults (and hparams'
    changes to them, by family), for everyone to share."""

    label: str
    text: str
    dataset: str
    families: tuple[str, ...]
    hparams: dict[str, dict] = field(default_factory=dict)

    def configs(self) -> list[RunConfig]:
        return [RunConfig.make(self.dataset, family, self.hparams.get(family)) for family in self.families]


EXAMPLES = (
    Example("Train an MLP and a CNN on digits",
            "Train an **MLP** (layers of neurons) and a **CNN** (filters that slide over the image) on "
            "1,797 handwritten 8x8 digits, then compare them.",
            "digits", ("mlp", "cnn")),
    Example("Train TF-IDF and a GRU on reviews",
            "Train **TF-IDF + logistic regression** (a bag of words: which words occur, in any order) and a "
            "**GRU** (reads the words in order) on reviews where \"not bad at all\" is praise, then see "
            "which words each one listened to.",
            "reviews", ("tfidf", "gru")),
    Example("Train a pooled MLP and a CNN on spoken digits",
            "Listen to digits said by synthetic voices, then train an **MLP** on each pitch band's "
            "average loudness and a **CNN** on the whole spectrogram, and test both on voices they "
            "never heard.",
            "spoken-digits", ("pooled-mlp", "cnn")),
)

# Seconds from the click to both runs stored, on a fresh store, on the 2-core machine the app
# is developed on: `python -m nnapps bench --only examples` (its "seconds" per example, rounded
# up to 5 s; measured with the processes executor, 2 slots, while other work kept the load
# average at 3-4). Measure again when an example, a default or the training changes.
MEASURED_SECONDS: dict[str, int] = {
    "digits": 20,
    "reviews": 90,
    "spoken-digits": 75,
}
MEASURED_ON = "2 cores"


def time_sentence(example: Example) -> str:
    """How long the example takes, as measured: 'About 25 s on 2 cores.'"""
    seconds = MEASURED_SECONDS[example.dataset]
    if seconds < 120:
        return f"About {seconds} s on {MEASURED_ON}"
    return f"About {round(seconds / 60)} minutes on {MEASURED_ON}"
