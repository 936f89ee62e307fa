"""The character-level GPT: the model, its training, sampling, the run store and the shipped
checkpoint."""

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from nnapps.data import corpora
from nnapps.gpt import runs as gpt_runs
from nnapps.gpt.sampling import attention, generate, next_logits, next_probs, reshape
from nnapps.gpt.train import EvalPoint, fixed_windows, lr_at, mean_loss, train_lm
from nnapps.gpt.vocab import CharVocab
from nnapps.execution.jobs import JobQueue
from nnapps.models.gpt import GPT, KVCache
from nnapps.store.runs import RunStore

TINY = {"n_layers": 2, "n_heads": 2, "width": 32, "context": 16}
TEXT = ("the quick brown fox jumps over the lazy dog. " * 4
        + "pack my box with five dozen liquor jugs! " * 4)


def tiny_model(vocab_size: int = 30, seed: int = 0, **hp) -> GPT:
    torch.manual_seed(seed)
    return GPT(vocab_size, **{**TINY, **hp}).eval()


# --- the model -----------------------------------------------------------------------------

def test_a_later_character_changes_no_earlier_output():
    model = tiny_model()
    ids = torch.randint(0, 30, (1, 16), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[0, 10] = (ids[0, 10] + 1) % 30
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.equal(a[0, :10], b[0, :10])  # exactly: nothing from position 10 reaches them
    assert not torch.allclose(a[0, 10:], b[0, 10:])  # and it does reach itself and what follows


def test_recorded_attention_is_causal_and_the_same_sums():
    model = tiny_model()
    ids = torch.randint(0, 30, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        fused = model(ids)
    maps = attention(model, ids[0])
    assert len(maps) == TINY["n_layers"] and maps[0].shape == (TINY["n_heads"], 12, 12)
    for weights in maps:
        assert torch.allclose(weights.sum(-1), torch.ones(TINY["n_heads"], 12))
        assert torch.all(weights.triu(diagonal=1) == 0)
    # The written-out attention that draws the maps computes what the fused kernel does.
    model.record_attention(True)
    with torch.no_grad():
        written = model(ids)
    model.record_attention(False)
    assert torch.allclose(fused, written, atol=1e-5)
    assert not any(block.attn.record for block in model.blocks)


def test_attention_leaves_the_shared_model_untouched():
    model = tiny_model()
    attention(model, torch.arange(8))
    assert all(block.attn.last_attention is None and not block.attn.record for block in model.blocks)


def test_untrained_loss_is_near_ln_vocabulary():
    for vocab in (30, 100):
        model = tiny_model(vocab)
        ids = torch.randint(0, vocab, (64, 17), generator=torch.Generator().manual_seed(3))
        loss = mean_loss(model, ids[:, :-1], ids[:, 1:])
        assert loss == pytest.approx(math.log(vocab), abs=0.05)


def test_output_layer_is_the_token_embedding():
    model = tiny_model()
    assert model.head.weight is model.tok.weight
    assert model.n_params() == sum(p.numel() for p in set(model.parameters()))


def test_a_context_longer_than_the_model_sees_is_refused():
    with pytest.raises(ValueError, match="at most 16"):
        tiny_model()(torch.zeros(1, 17, dtype=torch.int64))


def test_configurable_sizes_are_validated():
    assert GPT.from_hparams({"n_layers": 1, "width": 64, "n_heads": 8, "context": 8}, 10).context == 8
    with pytest.raises(ValueError, match="context"):
        GPT.from_hparams({"context": 1024}, 10)
    with pytest.raises(ValueError, match="divisible"):
        GPT(10, n_heads=8, width=36)


# --- training ------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_short_text_is_learned_by_heart():
    result = train_lm(TEXT, TEXT, TINY, {"steps": 300, "batch_size": 16, "lr": 1e-2, "warmup": 20,
                                         "eval_every": 100, "weight_decay": 0.0})
    first, last = result.curve[0], result.curve[-1]
    assert first.train_loss == pytest.approx(math.log(len(result.vocab)), abs=0.1)
    assert last.train_loss < 0.3 < first.train_loss
    assert [p.step for p in result.curve] == [0, 100, 200, 300]
    # It now completes the text it learned.
    greedy = generate(result.model, result.vocab.encode("the quick brown "), 8, temperature=0)
    assert result.vocab.decode(greedy.ids) == "fox jump"


@pytest.mark.slow
def test_same_seed_same_run_and_another_seed_another():
    kwargs = dict(hparams={**TINY, "dropout": 0.1},
                  train={"steps": 20, "batch_size": 4, "eval_every": 10, "seed": 5})
    a, b = train_lm(TEXT, TEXT[:100], **kwargs), train_lm(TEXT, TEXT[:100], **kwargs)
    c = train_lm(TEXT, TEXT[:100], kwargs["hparams"], {**kwargs["train"], "seed": 6})
    assert [p.val_loss for p in a.curve] == [p.val_loss for p in b.curve]
    assert [p.sample for p in a.curve] == [p.sample for p in b.curve]
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), name
    assert a.curve[-1].val_loss != c.curve[-1].val_loss


@pytest.mark.slow
def test_dropout_is_on_for_every_training_step():
    modes = []
    original = GPT.forward

    def recording(self, ids, *args, **kwargs):
        if torch.is_grad_enabled():  # a training step, not a measurement or a sample
            modes.append(self.training)
        return original(self, ids, *args, **kwargs)

    GPT.forward = recording
    try:
        train_lm(TEXT, TEXT, {**TINY, "dropout": 0.3}, {"steps": 12, "eval_every": 4})
    finally:
        GPT.forward = original
    assert len(modes) == 12 and all(modes)


def test_too_many_measurements_or_characters_are_refused():
    with pytest.raises(ValueError, match="at most 200"):
        gpt_runs.gpt_config("builtin", train={"steps": 20000, "eval_every": 10})
    many = "".join(chr(0x4E00 + i) for i in range(1200)) * 2
    with pytest.raises(ValueError, match="1,200 different characters"):
        train_lm(many, many, TINY, {"steps": 1})


@pytest.mark.slow
def test_stop_keeps_what_was_learned_and_measures_it():
    calls = []
    result = train_lm(TEXT, TEXT, TINY, {"steps": 100, "eval_every": 50},
                      should_stop=lambda: calls.append(1) or len(calls) > 7)
    assert result.stopped_by_user and result.steps == 7
    assert result.curve[-1].step == 7 and result.curve[-1].val_loss < result.curve[0].val_loss


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    config = {"lr": 1e-2, "warmup": 10, "steps": 110}
    rates = [lr_at(s, config) for s in range(110)]
    assert rates[0] == pytest.approx(1e-3) and rates[9] == pytest.approx(1e-2)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert lr_at(110, config) == pytest.approx(1e-3)


def test_evaluation_windows_are_fixed_and_cover_the_text():
    ids = torch.arange(1000)
    x, y = fixed_windows(ids, 16, 10)
    assert x.shape == (10, 16) and torch.equal(y, x + 1)
    assert x[0, 0] == 0 and y[-1, -1] == 999
    short_x, _ = fixed_windows(torch.arange(5), 16, 10)  # shorter than a context: one window
    assert short_x.shape == (1, 4)


def test_too_short_a_text_is_refused_with_its_lengths():
    with pytest.raises(ValueError, match="too short"):
        train_lm("abc", "abc", TINY, {"steps": 1})


def test_vocabulary_names_unknown_characters():
    vocab = CharVocab.of("hello world")
    assert vocab.decode(vocab.encode("low")) == "low"
    assert vocab.unknown("hi!") == ["i", "!"]
    with pytest.raises(ValueError, match="'i', '!'"):
        vocab.encode("hi!")


def test_encoding_gives_each_character_its_index_in_any_vocabulary_order():
    text = "ab\né😀 ba\n"
    for chars in (tuple(sorted(set(text))), ("😀", "b", "\n", "a", "é", " ")):
        vocab = CharVocab(chars)
        ids = vocab.encode(text)
        assert ids.dtype == torch.int64 and ids.tolist() == [vocab.index[c] for c in text]
        assert vocab.decode(ids) == text

# --- sampling ------------------------------------------------------------------------------

def test_temperature_zero_is_greedy_and_ignores_the_seed():
    model = tiny_model(seed=4)
    prompt = torch.tensor([1, 2, 3])
    a = generate(model, prompt, 20, temperature=0, seed=1)
    b = generate(model, prompt, 20, temperature=0, seed=2)
    assert a.ids == b.ids
    ids = prompt.clone()
    for chosen, dist in zip(a.ids, a.probs):
        assert chosen == int(next_logits(model, ids).argmax()) and dist[chosen] == 1.0
        ids = torch.cat([ids, torch.tensor([chosen])])


def test_top_k_restricts_support_to_the_k_highest():
    logits = torch.tensor([0.5, 3.0, -1.0, 2.0, 1.0])
    probs = reshape(logits, temperature=1.0, top_k=2)
    assert torch.nonzero(probs).flatten().tolist() == [1, 3]
    assert probs.sum() == pytest.approx(1.0)
    assert torch.equal(reshape(logits, top_k=0), reshape(logits, top_k=5))  # 0 and k >= vocab keep all
    model = tiny_model(seed=5)
    drawn = generate(model, torch.tensor([0]), 60, temperature=2.0, top_k=3, seed=0)
    for chosen, dist in zip(drawn.ids, drawn.probs):
        assert int((dist > 0).sum()) == 3 and dist[chosen] > 0


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([2.0, 1.0, 0.0])
    cold, warm, hot = (reshape(logits, t) for t in (0.5, 1.0, 2.0))
    assert cold[0] > warm[0] > hot[0] and hot[2] > warm[2] > cold[2]
    with pytest.raises(ValueError, match="temperature"):
        reshape(logits, -0.1)
    with pytest.raises(ValueError, match="top_k"):
        reshape(logits, 1.0, -1)


def test_same_seed_same_text():
    model = tiny_model(seed=6)
    one, two = (generate(model, torch.tensor([4]), 30, seed=9) for _ in range(2))
    assert one.ids == two.ids and torch.equal(one.probs, two.probs)
    assert generate(model, torch.tensor([4]), 30, seed=10).ids != one.ids


def test_prompts_longer_than_the_context_are_cut_to_it():
    model = tiny_model()
    long = torch.randint(0, 30, (40,), generator=torch.Generator().manual_seed(7))
    assert torch.equal(next_probs(model, long), next_probs(model, long[-16:]))
    with pytest.raises(ValueError, match="empty"):
        next_logits(model, torch.tensor([], dtype=torch.int64))


@pytest.mark.parametrize("record", [False, True])  # the fused kernel and the written-out sums
def test_a_cache_read_in_pieces_gives_the_scores_of_one_pass(record):
    model = tiny_model(seed=8)
    ids = torch.randint(0, 30, (2, 16), generator=torch.Generator().manual_seed(8))
    model.record_attention(record)
    with torch.no_grad():
        whole = model(ids)
        cache = KVCache()
        # A prompt, one character, then several at once: each piece sees what came before.
        pieces = [model(ids[:, :5], cache), model(ids[:, 5:6], cache), model(ids[:, 6:], cache)]
    assert cache.length == 16
    assert torch.allclose(torch.cat(pieces, 1), whole, atol=1e-5)
    with pytest.raises(ValueError, match="at most 16"):
        model(ids[:, :1], cache)


def test_sampling_with_the_cache_gives_the_same_text_and_scores_as_without():
    model = tiny_model(seed=9)
    # 3 + 40 characters run past the context of 16: the window slides for the last ones.
    for temperature, top_k in ((1.0, 0), (0.7, 5), (0.0, 0)):
        cached, plain = (generate(model, torch.tensor([1, 2, 3]), 40, temperature, top_k, seed=3,
                                  use_cache=use) for use in (True, False))
        assert cached.ids == plain.ids
        assert torch.allclose(cached.probs, plain.probs, atol=1e-6)


# --- runs, the store and checkpoints ---------------------------------------------------------

def tiny_run(store, steps: int = 30, text: str = TEXT * 3):
    corpus = corpora.user_text(text.encode(), "fox.txt")
    config = gpt_runs.gpt_config(corpus.name, TINY, {"steps": steps, "eval_every": 10, "batch_size": 8})
    return gpt_runs.train_gpt_run(config, store, corpus), corpus


def test_a_run_is_stored_and_loads_to_the_same_numbers():
    store = RunStore()
    run, corpus = tiny_run(store)
    assert run.status == "complete" and run.config.dataset == f"corpus:{corpus.name}"
    assert run.class_names == list(CharVocab.of(corpus.text).chars)
    assert run.test_proba.shape[1] == len(run.class_names)
    assert np.allclose(run.test_proba.sum(1), 1.0, atol=1e-5)
    assert run.metrics["accuracy"] == pytest.approx(float((run.test_proba.argmax(1) == run.y_test).mean()))
    stored = store.get(run.run_id)
    assert stored.metrics["curve"][-1]["step"] == 30 and "GPT 2x32" in stored.label
    model, vocab = gpt_runs.load_gpt(store, stored)
    x, _ = fixed_windows(vocab.encode(corpus.split()[1]), model.context, gpt_runs.PROBES)
    with torch.no_grad():
        again = torch.softmax(model(x)[:, -1], -1).numpy()
    assert np.allclose(again, stored.test_proba, atol=1e-6)
    assert [r.run_id for r in gpt_runs.gpt_runs(store)] == [run.run_id]


def test_checkpoint_round_trip_gives_the_same_run(tmp_path):
    store = RunStore(tmp_path / "a")
    run, _ = tiny_run(store)
    path = gpt_runs.export_checkpoint(store, run, tmp_path / "ck.safetensors")
    other = RunStore(tmp_path / "b")
    loaded = gpt_runs.ensure_shipped(other, path)
    assert loaded.run_id == run.run_id and loaded.metrics == json.loads(json.dumps(run.metrics))
    a, _ = gpt_runs.load_gpt(store, run)
    b, _ = gpt_runs.load_gpt(other, other.get(run.run_id))
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(a(ids), b(ids))
    assert gpt_runs.ensure_shipped(other, path).run_id == run.run_id  # once, not twice
    assert len(other.list_runs()) == 1


def test_malformed_checkpoints_are_refused_with_a_reason(tmp_path, monkeypatch):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ValueError, match="not an nnapps GPT checkpoint"):
        gpt_runs.read_checkpoint(plain)
    store = RunStore()
    run, _ = tiny_run(store)
    good = gpt_runs.export_checkpoint(store, run, tmp_path / "good.safetensors")
    monkeypatch.setattr(gpt_runs, "MAX_CHECKPOINT_BYTES", good.stat().st_size - 1)
    with pytest.raises(ValueError, match="at most"):
        gpt_runs.read_checkpoint(good)
    monkeypatch.undo()
    # Weights that do not fit the config in the header.
    from safetensors import safe_open
    with safe_open(str(good), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    del tensors["weights.ln_f.weight"]
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, str(broken), metadata=meta)
    with pytest.raises(ValueError, match="do not fit"):
        gpt_runs.read_checkpoint(broken)
    header = json.loads(meta["nnapps.run"])
    header["config"]["hparams"]["width"] = 33
    save_file({}, str(broken), metadata={"nnapps.run": json.dumps(header)})
    with pytest.raises(ValueError, match="width"):
        gpt_runs.read_checkpoint(broken)


def test_a_checkpoint_over_the_limit_is_not_written(tmp_path, monkeypatch):
    store = RunStore()
    run, _ = tiny_run(store)
    monkeypatch.setattr(gpt_runs, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(ValueError, match="at most"):
        gpt_runs.export_checkpoint(store, run, tmp_path / "big.safetensors")
    assert not (tmp_path / "big.safetensors").exists()


def test_the_shipped_checkpoint_is_small_trained_and_loads():
    path = gpt_runs.SHIPPED
    assert path.stat().st_size <= 5 * 2**20
    store = RunStore()
    run = gpt_runs.ensure_shipped(store)
    assert run.config.dataset == "corpus:builtin" and run.status == "complete"
    model, vocab = gpt_runs.load_gpt(store, run)
    builtin = corpora.builtin()
    assert vocab == CharVocab.of(builtin.text)
    # It has learned the built-in corpus: far below an untrained model's ln(vocabulary).
    _, val = builtin.split()
    x, y = fixed_windows(vocab.encode(val), model.context, 64)
    loss = mean_loss(model, x, y)
    assert loss < 1.6 < math.log(len(vocab))
    assert run.metrics["val_loss"] == pytest.approx(mean_loss(model, *fixed_windows(
        vocab.encode(val), model.context, 1024)), abs=1e-4)


def test_gpt_trains_through_the_job_queue():
    store = RunStore()
    corpus = corpora.user_text((TEXT * 3).encode(), "fox.txt")
    corpora.keep(corpus)
    queue = JobQueue(store)
    config = gpt_runs.gpt_config(corpus.name, TINY, {"steps": 20, "eval_every": 5, "batch_size": 4})
    job_id = queue.submit(config)
    [job] = queue.wait([job_id], timeout=120)
    assert job.state == "done", job.error
    assert [p.step for p in job.points] == [0, 5, 10, 15, 20]
    assert isinstance(job.points[0], EvalPoint)
    assert store.get(config.run_id).metrics["steps"] == 20


def test_a_missing_corpus_fails_the_job_with_a_message():
    queue = JobQueue(RunStore())
    job_id = queue.submit(gpt_runs.gpt_config("user-0123456789ab", TINY, {"steps": 5}))
    [job] = queue.wait([job_id], timeout=60)
    assert job.state == "failed" and "paste or upload it again" in job.error
