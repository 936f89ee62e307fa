"""Made reviews: short product-review sentences whose label depends on word order, not word counts.

Every sentence is built from one or two clauses. A clause says something about a subject (the
battery, this phone, the delivery) with a polar phrase (great, a letdown, lets me down), and half
of all clauses negate it ("isn't great", "far from perfect", "never disappoints", "I wouldn't say
the screen is bad"). A clause's sentiment is its phrase's polarity flipped by its negation. Which
clause decides the sentence depends on the structure: the one after "but"/"yet"/"however", the
main clause of an "although" sentence wherever it stands, or both clauses when joined by "and".

Balance is built in: the label is drawn first, then each clause's sentiment follows from the
structure, then negation is a fair coin, and only then is the phrase's polarity fixed. So every
polar word, negator and connective is as likely in a negative sentence as in a positive one, and
a model that only counts words is left guessing.
"""

from dataclasses import dataclass

import numpy as np

from nnapps.data.dataset import DatasetSpec, RawData

N_ITEMS = 6000
CLASS_NAMES = ["negative", "positive"]
P_EVENT = 0.2  # share of contrast clauses that report something that happened ("died in an hour")


@dataclass(frozen=True)
class Phrase:
    """A polar predicate. kind: "adj" (great), "noun" (a letdown) or "verb" (let me down).

    suits: the subject kinds it reads naturally with. Verbs keep their forms (base, third person,
    past) apart from their object so a clause can conjugate them.
    """

    text: str
    positive: bool
    kind: str
    suits: frozenset
    extreme: bool = False
    verb: tuple = ()
    obj: str = ""


@dataclass(frozen=True)
class Clause:
    """One clause of a sentence, in lower case, and whether it speaks well of its subject."""

    text: str
    positive: bool


def _adjs(positive: bool, suits: str, words: str, extreme: bool = False) -> list[Phrase]:
    return [Phrase(w.strip(), positive, "adj", frozenset(suits.split()), extreme) for w in words.split(",")]


def _nouns(positive: bool, suits: str, words: str) -> list[Phrase]:
    return [Phrase(w.strip(), positive, "noun", frozenset(suits.split())) for w in words.split(",")]


def _verbs(positive: bool, suits: str, *forms: tuple) -> list[Phrase]:
    # forms: (base, third person, past, object)
    return [Phrase(f"{b} {o}".strip(), positive, "verb", frozenset(suits.split()), verb=(b, s, p), obj=o)
            for b, s, p, o in forms]


ANY = "part product service price"
# Every list has a twin of the same size in the other class (and 7 extreme adjectives on each
# side, the only ones "nothing short of" suits), so no form or subject favours one class.
PHRASES: list[Phrase] = [
    *_adjs(True, ANY, "great, good, brilliant, wonderful, amazing, fine, nice, terrific, impressive, "
                      "decent, first-rate, top-notch, lovely, stellar, spot on, superb"),
    *_adjs(True, ANY, "perfect, excellent, fantastic, outstanding, phenomenal, flawless, incredible",
           extreme=True),
    *_adjs(True, "part product", "solid, sturdy, reliable, responsive, well made, premium"),
    *_adjs(True, "service", "quick, prompt, smooth, painless, efficient, hassle-free"),
    *_adjs(True, "price", "fair, reasonable, competitive"),
    *_adjs(False, ANY, "bad, poor, disappointing, mediocre, lousy, pathetic, subpar, underwhelming, "
                       "frustrating, unacceptable, shocking, woeful, laughable, dire, rubbish, sad"),
    *_adjs(False, ANY, "terrible, awful, horrible, dreadful, atrocious, abysmal, appalling", extreme=True),
    *_adjs(False, "part product", "flimsy, unreliable, shoddy, clunky, sluggish, glitchy"),
    *_adjs(False, "service", "slow, sloppy, chaotic, painful, disorganised, careless"),
    *_adjs(False, "price", "steep, outrageous, absurd"),
    *_nouns(True, "part product service", "a joy, a delight, a pleasure, a dream"),
    *_nouns(True, "product price", "a bargain, a steal, worth it, worth every penny"),
    *_nouns(False, "part product service", "a letdown, a joke, a disaster, a nightmare"),
    *_nouns(False, "product price", "a rip-off, a waste of money, a con, a scam"),
    *_verbs(True, "part product",
            ("work", "works", "worked", "well"), ("do", "does", "did", "the job"),
            ("live", "lives", "lived", "up to the hype"), ("hold", "holds", "held", "up well"),
            ("impress", "impresses", "impressed", "me"), ("feel", "feels", "felt", "premium"),
            ("exceed", "exceeds", "exceeded", "my expectations")),
    *_verbs(False, "part product",
            ("disappoint", "disappoints", "disappointed", ""), ("let", "lets", "let", "me down"),
            ("feel", "feels", "felt", "flimsy"), ("fall", "falls", "fell", "apart"),
            ("give", "gives", "gave", "me trouble"),
            ("drive", "drives", "drove", "me mad"), ("break", "breaks", "broke", "easily")),
]

# Subjects: (noun phrase without article, kind, plural)
PLURAL_ASPECTS = {"speakers", "buttons", "headphones"}
MASS_ASPECTS = {"sound", "build quality", "battery life", "software", "design"}  # no "a" before them
ASPECTS = [(a, "part", a in PLURAL_ASPECTS) for a in (
    "screen", "battery", "camera", "keyboard", "speakers", "touchpad", "microphone", "charger",
    "hinge", "display", "sound", "build quality", "battery life", "fan", "buttons", "case",
    "software", "app", "design", "remote", "headphones", "trackpad", "lens", "cable")] + [
    (a, "service", False) for a in (
        "delivery", "customer support", "support", "setup", "packaging", "returns process",
        "customer service", "installation", "refund process", "checkout")] + [
    (a, "price", False) for a in ("price", "cost", "price tag")]
PRODUCTS = ["phone", "laptop", "tablet", "smartwatch", "e-reader", "monitor", "speaker", "printer",
            "router", "blender", "kettle", "vacuum", "camera", "console", "projector"]

# Things that happened, already conjugated for "the <aspect>"; never negated.
EVENTS = {
    "battery": (["lasts all day", "lasted two full days", "charges in no time"],
                ["died in an hour", "drains overnight", "barely lasts a morning"]),
    "screen": (["looks gorgeous", "is easy to read in sunlight"],
               ["cracked within a week", "is impossible to read outdoors"]),
    "camera": (["takes sharp photos", "handles low light well"],
               ["takes blurry photos", "struggles in low light"]),
    "speakers": (["fill the whole room", "sound rich and clear"],
                 ["crackle at high volume", "sound tinny"]),
    "delivery": (["arrived a day early", "came the next morning"],
                 ["arrived a week late", "took a month"]),
    "support": (["fixed my problem in minutes", "got back to me the same day"],
                ["kept me on hold for an hour", "never replied"]),
    "charger": (["charges the phone in an hour", "runs cool"],
                ["stopped working after a week", "gets dangerously hot"]),
    "app": (["syncs instantly", "runs smoothly"], ["crashes every time I open it", "logs me out daily"]),
    "setup": (["took five minutes", "went without a hitch"],
              ["took the whole afternoon", "failed three times"]),
    "fan": (["stays whisper quiet", "keeps everything cool"],
            ["sounds like a jet engine", "whines constantly"]),
}

# Sentence structures: (weight, which clause decides: 0 first, 1 second, 2 both, patterns).
FAMILIES = {
    "plain": (0.28, 0, ["{a}"]),
    "and": (0.10, 2, ["{a} and {b}", "{a}, and {b}", "{a}, and honestly {b}", "{a}. Also, {b}"]),
    "but": (0.24, 1, ["{a}, but {b}", "{a} but {b}", "{a}. But {b}", "{a}, yet {b}",
                      "{a}; however, {b}", "{a}. However, {b}", "{a}, but to be fair {b}",
                      "{a}. Still, {b}", "{a}, but then {b}"]),
    "although_first": (0.19, 1, ["although {a}, {b}", "even though {a}, {b}", "while {a}, {b}",
                                 "though {a}, {b}", "even if {a}, {b}"]),
    "although_last": (0.19, 0, ["{a}, although {b}", "{a}, even though {b}", "{a} although {b}",
                                "{a}, even if {b}", "{a}, despite the fact that {b}"]),
}
FILLERS = ["honestly, ", "to be fair, ", "I think ", "overall, ", "to be honest, ", "frankly, ",
           "in my opinion, ", "I have to say ", "all in all, ", "well, ", "I must say, "]
END_FILLERS = [" to be honest", " in my experience", " if I'm honest", " so far", " for now"]
ENDINGS = ([".", "!", "", "...", "!!"], [0.55, 0.15, 0.17, 0.09, 0.04])


# Clause forms: (pattern, weight, which phrases it suits). {s} subject, {x} phrase, {be} "is",
# {be_n} "isn't", {i}/{j} an intensifier. "adj" forms take adjectives only, "strong" forms take
# extreme adjectives and nouns only ("nothing short of brilliant" reads oddly with "good").
COPULA_FORMS = {
    False: [("{s} {be} {x}", 6, "any"), ("{s}'s {x}", 0.6, "singular present"),
            ("{s} {be} {i} {x}", 3, "adj"), ("{s} {be} nothing short of {x}", 0.6, "strong"),
            ("I'd say {s} {be} {x}", 0.6, "any"), ("I'd call {s} {x}", 0.5, "any"),
            ("I think {s} {be} {x}", 0.5, "any")],
    True: [("{s} {be_n} {x}", 4, "any"), ("{s} {be} not {x}", 2, "any"),
           ("{s}'s not {x}", 0.5, "singular present"),
           ("{s} {be_n} {j} {x}", 2.2, "adj"), ("{s} {be_n} {x} at all", 0.8, "any"),
           ("{s} {be} not at all {x}", 0.4, "adj"), ("{s} {be} never {x}", 0.7, "any"),
           ("{s} {be} hardly {x}", 0.8, "any"), ("{s} {be} far from {x}", 0.8, "any"),
           ("{s} {be} by no means {x}", 0.4, "any"), ("{s} {be} anything but {x}", 0.4, "any"),
           ("{s} {be} no longer {x}", 0.4, "any"), ("I wouldn't say {s} {be} {x}", 0.5, "any"),
           ("I can't say {s} {be} {x}", 0.4, "any"), ("I wouldn't call {s} {x}", 0.4, "any"),
           ("I don't think {s} {be} {x}", 0.5, "any")],
}
# {v} the verb as the subject and tense need it, {v0} its base form, {do_n} "doesn't". In each
# tense the forms using the base form weigh the same with and without a negator, or "work"
# (mostly after "doesn't") would betray a negation that "works" lacks.
VERB_FORMS = {
    False: [("{s} {v}", 4, "any"), ("{s} really {v}", 1, "any"), ("{s} always {v}", 1, "any"),
            ("I'd say {s} {v}", 0.5, "any"), ("I think {s} {v}", 0.5, "any"),
            ("{s} {tends} to {v0}", 2, "present"), ("{s} {seems} to {v0}", 2, "present"),
            ("{s} can {v0}", 1, "present"), ("{s} did {v0}", 1, "past"),
            ("{s} seemed to {v0}", 2, "past"), ("{s} tended to {v0}", 1, "past"),
            ("{s} used to {v0}", 1, "past")],
    True: [("{s} {do_n} {v0}", 4, "any"), ("{s} {do} not {v0}", 1, "any"),
           ("{s} never {v}", 3, "any"), ("{s} never {v}", 2, "past"),
           ("{s} hardly ever {v}", 1.5, "present"), ("{s} no longer {v}", 0.5, "present"),
           ("I can't say {s} {v}", 1, "any"), ("I don't think {s} {v}", 1, "any")],
}
NEGATED_FORMS = frozenset(f for table in (COPULA_FORMS, VERB_FORMS) for f, _, _ in table[True])
INTENSIFIERS = ["really", "truly", "genuinely", "so", "quite", "seriously"]  # suit every adjective
NEGATED_INTENSIFIERS = ["really", "that", "exactly", "all that"]


def sentence_label(family: str, first: Clause, second: Clause | None = None) -> int:
    """1 (positive) or 0 (negative): the sentiment of the clause that decides this structure."""
    decider = FAMILIES[family][1]
    return int((second if decider == 1 else first).positive)


def join(pattern: str, first: Clause, second: Clause | None = None) -> str:
    """Fill one of FAMILIES' patterns with the clauses' text."""
    return pattern.format(a=first.text, b=second.text if second else "")


def phrase(text: str) -> Phrase:
    """The phrase with this text, e.g. phrase("great") or phrase("let me down")."""
    for p in PHRASES:
        if p.text == text:
            return p
    raise ValueError(f"no phrase {text!r}; valid phrases: {sorted(p.text for p in PHRASES)}")


def clause(subject: str, p: Phrase, form: str, plural: bool = False, past: bool = False,
           intensifier: str = "really") -> Clause:
    """A clause saying phrase p about subject in form (a pattern from COPULA_FORMS or VERB_FORMS).

    Its sentiment is the phrase's polarity, flipped when the form is a negated one.
    """
    be = ("were" if plural else "was") if past else ("are" if plural else "is")
    do = "did" if past else ("do" if plural else "does")
    negated = form in NEGATED_FORMS
    if p.kind == "verb":
        base, s3, past_form = p.verb
        head = past_form if past else (base if plural else s3)
        text = form.format(s=subject, v=f"{head} {p.obj}".strip(), v0=f"{base} {p.obj}".strip(),
                           do=do, do_n=do + "n't", tends="tend" if plural else "tends",
                           seems="seem" if plural else "seems")
    else:
        text = form.format(s=subject, x=p.text, be=be, be_n=be + "n't", i=intensifier, j=intensifier)
    return Clause(text, p.positive != negated)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _weighted(rng: np.random.Generator, items: list, weights) -> object:
    w = np.asarray(weights, dtype=float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def _subject(rng: np.random.Generator, avoid: str) -> tuple[str, str, bool, str]:
    """(noun phrase, kind, plural, aspect name) for a random subject other than avoid."""
    while True:
        if rng.random() < 0.15:
            product = _pick(rng, PRODUCTS)
            det = _weighted(rng, ["this", "the", "my new", "my"], [4, 2, 1, 1])
            name, kind, plural = product, "product", False
            text = f"{det} {product}"
        else:
            name, kind, plural = _pick(rng, ASPECTS)
            text = f"the {name}"
        if name != avoid:
            return text, kind, plural, name


def _make_clause(rng: np.random.Generator, positive: bool, may_report: bool,
                 may_be_verbless: bool = False, avoid: str = "") -> tuple[Clause, str]:
    """A random clause with the given sentiment, and its subject's name.

    Negation is a fair coin drawn before anything else, so every phrase is negated half the time
    whatever the clause's sentiment. may_report allows an un-negated event ("died in an hour");
    it is drawn first, so events are as likely in a deciding clause as in the other one.
    """
    if may_report and rng.random() < P_EVENT:
        name = _pick(rng, [a for a in EVENTS if a != avoid])
        return Clause(f"the {name} {_pick(rng, EVENTS[name][0 if positive else 1])}", positive), name
    if may_be_verbless and rng.random() < 0.15:
        return _noun_clause(rng, positive)
    negated = bool(rng.random() < 0.5)
    polarity = positive != negated
    subject, kind, plural, name = _subject(rng, avoid)
    p_kind = {"adj": 0.6, "noun": 0.15, "verb": 0.25 if kind in ("part", "product") else 0.0}
    phrase_kind = _weighted(rng, list(p_kind), list(p_kind.values()))
    p = _pick(rng, [q for q in PHRASES
                    if q.positive == polarity and q.kind == phrase_kind and kind in q.suits])
    table = VERB_FORMS if p.kind == "verb" else COPULA_FORMS
    past = bool(rng.random() < 0.3)
    tags = {"any", p.kind, "strong" if p.extreme or p.kind == "noun" else "",
            "past" if past else "present", "singular present" if not plural and not past else ""}
    forms = [f for f in table[negated] if f[2] in tags]
    form = _weighted(rng, [f[0] for f in forms], [f[1] for f in forms])
    intensifier = _pick(rng, NEGATED_INTENSIFIERS if negated else INTENSIFIERS)
    made = clause(subject, p, form, plural, past, intensifier)
    assert made.positive == positive
    return made, name


def _noun_clause(rng: np.random.Generator, positive: bool) -> tuple[Clause, str]:
    """A verbless opening such as "great screen" or "not a great screen" (negated half the time)."""
    negated = bool(rng.random() < 0.5)
    name, _, plural = _pick(rng, [a for a in ASPECTS if a[1] == "part"])
    adj = _pick(rng, [q for q in PHRASES if q.kind == "adj" and q.positive == (positive != negated)
                      and "part" in q.suits and " " not in q.text])
    if not negated:
        return Clause(f"{adj.text} {name}", positive), name
    if plural or name in MASS_ASPECTS:
        return Clause(f"not {adj.text} {name}", positive), name
    article = "an" if adj.text[0] in "aeiou" else "a"
    return Clause(f"not {article} {adj.text} {name}", positive), name



def _sentence(rng: np.random.Generator, label: int) -> tuple[str, str]:
    """(core text, finished text) of one sentence with this label; the core has no casing noise."""
    families = list(FAMILIES)
    family = _weighted(rng, families, [FAMILIES[f][0] for f in families])
    _, decider, patterns = FAMILIES[family]
    pattern = _pick(rng, patterns)
    positive = bool(label)
    if family == "plain":
        first, _ = _make_clause(rng, positive, may_report=False)
        text = join(pattern, first)
    else:
        contrast = family != "and"
        want = [positive, positive] if decider == 2 else (
            [not positive, positive] if decider == 1 else [positive, not positive])
        first, name = _make_clause(rng, want[0], may_report=contrast, may_be_verbless=family == "but")
        second, _ = _make_clause(rng, want[1], may_report=contrast, avoid=name)
        text = join(pattern, first, second)
        assert sentence_label(family, first, second) == label
    core = text
    if rng.random() < 0.25:
        # "I think" only fits before a subject: not "I think although", "I think great screen".
        fillers = FILLERS if text.startswith(("the ", "this ", "my ")) else [
            f for f in FILLERS if f.endswith(", ")]
        text = _pick(rng, fillers) + text
    if rng.random() < 0.1:
        text += _pick(rng, END_FILLERS)
    text += _weighted(rng, *ENDINGS)
    style = rng.random()
    if style < 0.3:
        text = text.lower()
    else:
        text = text[0].upper() + text[1:]
        if style > 0.95:
            words = text.split(" ")
            k = int(rng.integers(len(words)))
            words[k] = words[k].upper()
            text = " ".join(words)
    return core, text


def make(seed: int = 0, n_items: int = N_ITEMS, progress=None) -> RawData:
    """Generate n_items distinct sentences, half of each class; the same seed gives the same text.

    Returns RawData with X (N,) object array of str, y (N,) int64 (0 negative, 1 positive).
    """
    if n_items < 2 or n_items % 2:
        raise ValueError(f"n_items must be an even number of at least 2, got {n_items}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.array([0, 1], dtype=np.int64), n_items // 2))
    X = np.empty(n_items, dtype=object)
    seen: set[str] = set()
    for i, label in enumerate(y):
        # Redraw repeats so the same sentence cannot sit in both train and test.
        core, text = _sentence(rng, int(label))
        while core.lower() in seen:
            core, text = _sentence(rng, int(label))
        seen.add(core.lower())
        X[i] = text
        if progress and i % 1000 == 0:
            progress(i / n_items, f"made {i:,} of {n_items:,} sentences")
    return RawData(X=X, y=y, class_names=list(CLASS_NAMES))


def load(seed: int = 0, progress=None) -> RawData:
    return make(seed, progress=progress)


SPEC = DatasetSpec(
    name="reviews",
    title="Reviews (made, word order matters)",
    modality="text",
    origin="made",
    licence="CC0 (made by nnapps)",
    description=("Made by nnapps from a seed: 6,000 different short product-review sentences, half "
                 "negative and half positive, about screens, batteries, deliveries, prices and "
                 "more. Each sentence has one or two clauses; half the clauses are negated (\"not "
                 "bad at all\", \"far from perfect\", \"never disappoints\", \"I wouldn't say the "
                 "screen is great\"), and in two-clause sentences the clause after \"but\" or "
                 "\"however\", or the main clause of an \"although\" sentence, decides the label. "
                 "The generator picks the label first and the words last, so every adjective, "
                 "negator and connective appears about equally often in both classes: a "
                 "bag-of-words model, which ignores order, scores about as well as a coin, while a "
                 "recurrent network that reads the words in order can learn the rules."),
    load=load,
)
