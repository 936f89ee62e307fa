"""Text families: padding and masks, word order, seeding, the transformer's options.

The contract every family shares (logits of shape (B, K), probabilities that sum to one,
memorising a small batch, same seed same weights) is tested for text families with the image
ones in test_models.py; this file tests what only text models promise.
"""

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from nnapps.data import Dataset, DatasetSpec, RawData
from nnapps.data.splits import split_indices
from nnapps.models import FAMILIES, InputInfo
from nnapps.models.fasttext import auto_embed_dim, n_buckets
from nnapps.models.layers import masked_max, masked_mean, padding_mask, set_dropout_generator, trim_padding
from nnapps.models.rnn import RNNClassifier, RNNConfig
from nnapps.models.transformer import (POSITIONAL, SelfAttention, TransformerClassifier,
                                       TransformerConfig)
from nnapps.training.pipeline import build_model, train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.training.loop import TensorData, TrainConfig, fit
from model_inputs import PAD_ID, fit_until, token_ids

TEXT_FAMILIES = [name for name, f in FAMILIES.items() if "text" in f.modalities]
TEXT_TORCH = [name for name in TEXT_FAMILIES if FAMILIES[name].kind == "torch"]
VOCAB = 50
N_CLASSES = 3


@pytest.fixture(autouse=True)
def one_thread():
    """These models are tiny: a second thread only adds hand-offs (and on a busy machine, waits
    that make a step a hundred times slower). fit() still picks its own count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(name: str, hparams: dict | None = None, max_len: int = 40, vocab: int = VOCAB, seed: int = 0):
    torch.manual_seed(seed)
    return FAMILIES[name].make(hparams or {}, InputInfo((max_len,), vocab), N_CLASSES).eval()


def logits(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(ids)


def pad_to(ids: torch.Tensor, width: int) -> torch.Tensor:
    return nn.functional.pad(ids, (0, width - ids.shape[1]), value=PAD_ID)


def test_text_families_are_registered():
    assert set(TEXT_FAMILIES) == {"tfidf", "fasttext", "boe", "textcnn", "gru", "lstm", "transformer"}
    assert FAMILIES["tfidf"].kind == "sklearn" and set(TEXT_TORCH) == set(TEXT_FAMILIES) - {"tfidf"}
    assert all(FAMILIES[name].modalities == ("text",) for name in TEXT_FAMILIES)


# ---- the masking helpers ------------------------------------------------------------------------


def test_trim_padding_drops_columns_that_are_padding_in_every_row():
    ids = torch.tensor([[5, 6, 0, 0, 0], [7, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert trim_padding(ids).tolist() == [[5, 6], [7, 0], [0, 0]]
    assert trim_padding(torch.zeros(2, 6, dtype=torch.long)).shape == (2, 1)  # one column stays
    full = torch.ones(2, 4, dtype=torch.long)
    assert torch.equal(trim_padding(full), full)


def test_masked_pooling_ignores_padding_and_gives_zeros_for_an_empty_text():
    x = torch.tensor([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]],
                      [[-1.0, -1.0], [50.0, 50.0], [50.0, 50.0]],
                      [[9.0, 9.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = padding_mask(torch.tensor([[4, 4, 0], [4, 0, 0], [0, 0, 0]]))
    assert mask.tolist() == [[True, True, False], [True, False, False], [False] * 3]
    assert masked_mean(x, mask).tolist() == [[2.0, -3.0], [-1.0, -1.0], [0.0, 0.0]]
    assert masked_max(x, mask).tolist() == [[3.0, -2.0], [-1.0, -1.0], [0.0, 0.0]]


# ---- padding invariance -------------------------------------------------------------------------

# Defaults and the options that change how a family walks over time.
def case(name: str, hparams: dict, *marks) -> pytest.param:
    label = ",".join(f"{k}={v}" for k, v in hparams.items()) or "defaults"
    return pytest.param(name, hparams, marks=marks, id=f"{name}-{label}")


PADDING_CASES = [
    case("fasttext", {}), case("fasttext", {"bigrams": False, "embed_dim": 16}),
    case("boe", {}), case("boe", {"n_layers": 0}),
    case("textcnn", {}), case("textcnn", {"kernel_size": 5}),
    case("textcnn", {"kernel_size": 7, "activation": "tanh"}),
    case("textcnn", {"n_blocks": 2}), case("textcnn", {"kernel_size": 2}),
    case("gru", {}), case("gru", {"n_layers": 2, "bidirectional": False}),
    case("lstm", {}), case("lstm", {"n_layers": 2}),
    case("transformer", {}), case("transformer", {"positional": "sinusoidal", "n_heads": 1}),
    case("transformer", {"positional": "none", "n_layers": 1}),
]


def test_padding_cases_cover_every_torch_text_family():
    names = {param.values[0] for param in PADDING_CASES}
    assert names == set(TEXT_TORCH)


@pytest.mark.parametrize("name, hparams", PADDING_CASES)
def test_padding_does_not_change_the_logits(name, hparams):
    """A text's logits are the same whether it is padded to 12 or 40 tokens, alone or in a batch
    beside a longer text; this is what trim_padding and the masks promise."""
    model = make(name, hparams)
    short = token_ids(6, 12, VOCAB, seed=1, empty_rows=1)  # lengths 12, then 1..12, one empty
    long = token_ids(1, 40, VOCAB, seed=2, empty_rows=0)   # a text of 40 words
    at_12 = logits(model, short)
    at_40 = logits(model, pad_to(short, 40))
    beside_long = logits(model, torch.cat([pad_to(short, 40), long]))[: len(short)]
    alone = torch.cat([logits(model, row[None]) for row in short])
    assert at_12.shape == (6, N_CLASSES) and torch.isfinite(at_12).all()
    for other in (at_40, beside_long, alone):
        torch.testing.assert_close(other, at_12, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", TEXT_TORCH)
def test_empty_texts_give_finite_logits(name):
    model = make(name)
    only_empty = torch.zeros(3, 40, dtype=torch.long)
    out = logits(model, only_empty)
    assert out.shape == (3, N_CLASSES) and torch.isfinite(out).all()
    assert torch.allclose(out, out[:1].expand(3, -1))  # every empty text looks alike
    mixed = torch.cat([only_empty[:1], token_ids(2, 40, VOCAB, empty_rows=0)])
    torch.testing.assert_close(logits(model, mixed)[0], out[0], atol=1e-5, rtol=1e-4)
    # and training on them gives finite gradients
    model.train()
    loss = nn.functional.cross_entropy(model(mixed), torch.tensor([0, 1, 2]))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters()
                                        if p.grad is not None)


def test_sklearn_text_family_counts_no_padding():
    """TF-IDF: a text padded to 12 or 40 ids gives the same probabilities."""
    ids = token_ids(40, 12, VOCAB, seed=3, min_len=3, empty_rows=1)
    y = np.arange(40) % N_CLASSES
    model = FAMILIES["tfidf"].make({}, InputInfo((12,), VOCAB), N_CLASSES).fit(ids.numpy(), y)
    wide = FAMILIES["tfidf"].make({}, InputInfo((40,), VOCAB), N_CLASSES).fit(pad_to(ids, 40).numpy(), y)
    np.testing.assert_allclose(wide.predict_proba(pad_to(ids, 40).numpy()),
                               model.predict_proba(ids.numpy()), atol=1e-9)


@pytest.mark.parametrize("name", TEXT_TORCH)
def test_one_more_word_changes_the_logits(name):
    """The other side of padding invariance: padding is ignored, a real word is not."""
    model = make(name)
    ids = token_ids(1, 12, VOCAB, seed=4, empty_rows=0)[:, :6]
    more = torch.cat([ids, torch.tensor([[7]])], 1)
    assert not torch.allclose(logits(model, pad_to(ids, 7)), logits(model, more))


# ---- word order ---------------------------------------------------------------------------------

A, B = 2, 3  # the two marker words; the others are filler


def order_task(n_pairs: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """2 * n_pairs texts of 4-10 words: each pair has the same words, A and B swapped.

    The label is 1 when A comes before B, so every pair holds the same bag of words with
    opposite labels: only a model that reads order can fit it.
    """
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(2 * n_pairs, 12, dtype=torch.long)
    y = torch.zeros(2 * n_pairs, dtype=torch.long)
    for k in range(n_pairs):
        length = int(torch.randint(4, 11, (1,), generator=g))
        words = torch.randint(4, VOCAB, (length,), generator=g)
        i, j = sorted(torch.randperm(length, generator=g)[:2].tolist())
        first, second = words.clone(), words.clone()
        first[i], first[j] = A, B
        second[i], second[j] = B, A
        ids[2 * k, :length], ids[2 * k + 1, :length] = first, second
        y[2 * k], y[2 * k + 1] = 1, 0
    return ids, y


@pytest.mark.parametrize("name", ["textcnn", "gru", "lstm", "transformer"])
def test_order_aware_families_fit_a_task_only_word_order_solves(name):
    X, y = order_task()
    loss, step = fit_until(make(name, max_len=12), X, y, max_steps=400)
    assert loss < 0.05, f"{name} did not fit the order task: loss {loss:.3f} after {step} steps"


@pytest.mark.parametrize("name, hparams", [("boe", {}), ("transformer", {"positional": "none"}),
                                           ("fasttext", {"bigrams": False})])
def test_bag_of_words_models_cannot_tell_the_pairs_apart(name, hparams):
    """Same words in another order, same logits: these models cannot fit the order task."""
    X, _ = order_task()
    out = logits(make(name, hparams, max_len=12), X)
    torch.testing.assert_close(out[0::2], out[1::2], atol=1e-5, rtol=1e-4)


SENTENCE = torch.tensor([[5, 9, 14, 22, 31, 7, 0, 0]])
PERMUTED = torch.tensor([[31, 7, 5, 22, 9, 14, 0, 0]])


@pytest.mark.parametrize("name, hparams, same", [
    ("boe", {}, True),
    ("transformer", {"positional": "none"}, True),
    ("transformer", {"positional": "learned"}, False),
    ("transformer", {"positional": "sinusoidal"}, False),
    ("gru", {}, False), ("lstm", {}, False), ("textcnn", {}, False),
])
def test_permuting_a_sentence(name, hparams, same):
    model = make(name, hparams, max_len=8)
    a, b = logits(model, SENTENCE), logits(model, PERMUTED)
    assert torch.allclose(a, b, atol=1e-5) is same


def test_positional_choices():
    assert POSITIONAL == ("learned", "sinusoidal", "none")
    learned = make("transformer", {"positional": "learned"}, max_len=8)
    assert isinstance(learned.pos, nn.Parameter) and learned.pos.shape == (8, 64)
    none = make("transformer", {"positional": "none"}, max_len=8)
    assert not isinstance(none.pos, nn.Parameter) and (none.pos == 0).all()
    with pytest.raises(ValueError, match="positional must be one of"):
        TransformerClassifier(TransformerConfig(vocab_size=VOCAB, n_classes=2, max_len=8,
                                                positional="rotary"))


# ---- a made dataset where "not" flips the label -------------------------------------------------

SUBJECTS = ["phone", "battery", "screen", "camera", "case", "charger"]
GOOD, BAD = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "weak"]


def not_x_dataset() -> Dataset:
    """192 sentences "the <thing> is|was [not] <good or bad word>": "not" flips the label, so each
    word is as common in either class and a bag of words is left guessing."""
    texts, labels = [], []
    for subject, verb, negated, word in itertools.product(SUBJECTS, ["is", "was"], [False, True],
                                                          GOOD + BAD):
        texts.append(f"The {subject} {verb} {'not ' if negated else ''}{word}.")
        labels.append(int((word in GOOD) != negated))
    X = np.empty(len(texts), dtype=object)
    X[:] = texts
    y = np.array(labels, dtype=np.int64)
    raw = RawData(X, y, ["negative", "positive"])
    spec = DatasetSpec(name="not-x", title="Not X", modality="text", origin="made", licence="test",
                       description="not flips the label", load=lambda seed=0, progress=None: raw)
    train, val, test = split_indices(y, 0)
    return Dataset(spec=spec, seed=0, class_names=raw.class_names, X_train=X[train], y_train=y[train],
                   X_val=X[val], y_val=y[val], X_test=X[test], y_test=y[test])


def test_word_order_beats_a_bag_of_words(tmp_path):
    dataset = not_x_dataset()
    assert len(dataset.y_test) >= 25 and set(dataset.y_test) == {0, 1}
    store = RunStore(tmp_path)
    features = {"max_len": 8}

    def accuracy(family, train=None):
        config = RunConfig.make("not-x", family, {}, train, features=features, modality="text")
        return train_run(config, store, dataset=dataset).metrics["accuracy"]

    gru = accuracy("gru", {"epochs": 10, "lr": 0.01, "batch_size": 32})
    tfidf = accuracy("tfidf")
    assert gru >= 0.95, f"GRU reached only {gru:.2f} on the not-X test split"
    assert tfidf <= 0.7, f"TF-IDF reached {tfidf:.2f}; the words alone should not say the label"


# ---- seeding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEXT_TORCH)
def test_same_seed_same_weights_and_same_training(name):
    info = InputInfo((12,), VOCAB)
    X, y = order_task(n_pairs=24)
    X_val, y_val = order_task(n_pairs=8, seed=1)
    data = TensorData(X, y, X_val, y_val)

    def train(seed):
        hparams = {"dropout": 0.2, **({"n_layers": 1, "width": 32} if name == "transformer" else {})}
        config = RunConfig.make("reviews", name, hparams,
                                {"seed": seed, "epochs": 2, "batch_size": 8, "patience": 0})
        model = build_model(config, info, 2)
        init = {k: v.clone() for k, v in model.state_dict().items()}
        history = fit(model, data, dataclasses.replace(TrainConfig.from_dict(config.train), device="cpu"))
        numbers = [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.grad_norms, e.weight_norms)
                   for e in history.epochs]
        return init, numbers, model.state_dict()

    (init_a, numbers_a, final_a), (init_b, numbers_b, final_b) = train(5), train(5)
    init_c, numbers_c, _ = train(6)
    for key in init_a:
        assert torch.equal(init_a[key], init_b[key]) and torch.equal(final_a[key], final_b[key])
    assert numbers_a == numbers_b and len(numbers_a) == 2
    assert numbers_c != numbers_a
    assert any(not torch.equal(init_a[k], init_c[k]) for k in init_a if init_a[k].is_floating_point())


# ---- options and errors -------------------------------------------------------------------------


def test_width_must_divide_by_heads():
    with pytest.raises(ValueError, match=r"width \(30\) must be divisible by n_heads \(4\)"):
        SelfAttention(30, 4, 0.0)
    with pytest.raises(ValueError, match=r"width \(100\) must be divisible by n_heads \(8\)"):
        TransformerClassifier(TransformerConfig(vocab_size=VOCAB, n_classes=2, max_len=8, width=100,
                                                n_heads=8))


def test_every_width_and_head_choice_builds():
    params = {p.name: p for p in FAMILIES["transformer"].schema}
    for width, heads in itertools.product(params["width"].choices, params["n_heads"].choices):
        model = make("transformer", {"width": width, "n_heads": heads, "n_layers": 1}, max_len=8)
        assert logits(model, SENTENCE).shape == (1, N_CLASSES)


def test_attention_gives_padding_no_weight():
    model = make("transformer", {"n_heads": 2})
    attention = [block.attn for block in model.blocks]
    for layer in attention:
        layer.record = True
    ids = token_ids(4, 12, VOCAB, seed=5, empty_rows=0)
    logits(model, ids)
    real = padding_mask(trim_padding(ids))
    for layer in attention:
        att = layer.last_attention  # (B, heads, T, T)
        assert att.shape == (4, 2, real.shape[1], real.shape[1])
        torch.testing.assert_close(att.sum(-1), torch.ones(att.shape[:-1]))
        assert (att.masked_select(~real[:, None, None, :].expand_as(att)) == 0).all()


def test_rnn_cell_must_be_known():
    with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm'\], got 'rnn'"):
        RNNClassifier(RNNConfig(vocab_size=VOCAB, n_classes=2, cell="rnn"))


@pytest.mark.parametrize("name", TEXT_TORCH)
def test_embedding_has_a_row_per_vocabulary_id_and_a_zero_padding_row(name):
    model = make(name, vocab=77)
    assert model.embed.num_embeddings == 77 and model.embed.padding_idx == PAD_ID
    assert (model.embed.weight[PAD_ID] == 0).all()


# ---- fastText: word pairs, word dropout, sizes from the vocabulary --------------------------------


def test_fasttext_word_pairs_tell_an_order_apart_that_words_alone_cannot():
    X, _ = order_task()
    with_pairs = logits(make("fasttext", {"bigrams": True}, max_len=12), X)
    assert not torch.allclose(with_pairs[0::2], with_pairs[1::2], atol=1e-4)


def test_fasttext_averages_word_and_pair_vectors():
    """By hand: the mean of the words' vectors and the pairs' (both words real) vectors."""
    model = make("fasttext", {"embed_dim": 8}, max_len=6)
    ids = torch.tensor([[5, 9, 7, 0, 0, 0]])
    buckets = model.config.bigram_buckets
    pair = lambda a, b: model.pairs.weight[(a * 1_000_003 + b) % buckets]  # noqa: E731
    words = model.embed.weight
    mean = (words[5] + words[9] + words[7] + pair(5, 9) + pair(9, 7)) / 5
    torch.testing.assert_close(logits(model, ids)[0], model.out(mean).detach())


def test_fasttext_word_dropout_leaves_words_out_only_while_training_and_by_its_seed():
    model = make("fasttext", {"dropout": 0.5})
    ids = token_ids(8, 40, VOCAB, seed=5, empty_rows=0)
    model.eval()
    assert torch.equal(logits(model, ids), logits(model, ids))
    model.train()
    runs = []
    for seed in (1, 1, 2):
        set_dropout_generator(model, torch.Generator().manual_seed(seed))
        runs.append(logits(model, ids))
    assert torch.equal(runs[0], runs[1]) and not torch.allclose(runs[0], runs[2])
    assert not torch.allclose(runs[0], (model.eval(), logits(model, ids))[1])
    mask = torch.ones(1000, 50, dtype=torch.bool)
    model.word_dropout.train()
    kept = model.word_dropout(mask).float().mean().item()
    assert 0.45 < kept < 0.55


def test_fasttext_sizes_follow_the_vocabulary():
    dims = [auto_embed_dim(v) for v in (3, 100, 1000, 5000, 10**9)]
    assert dims == sorted(dims) and dims[0] == 8 and dims[-1] == 128 and all(d % 4 == 0 for d in dims)
    assert dims[2] == 4 * round(1.5 * 1000 ** 0.25)  # about 6 x 1000^(1/4)
    small, large = make("fasttext", vocab=100), make("fasttext", vocab=5000)
    assert small.embed.embedding_dim == auto_embed_dim(100) < large.embed.embedding_dim
    assert small.pairs.num_embeddings == n_buckets(100) < large.pairs.num_embeddings
    assert make("fasttext", {"embed_dim": 24, "bigrams": False}).pairs is None
