"""From a context to the next character: the distribution, reshaped by temperature and top-k,
and generation one drawn character at a time."""

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from nnapps.models.gpt import GPT, KVCache


def reshape(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """Probabilities from logits (..., vocab): divided by temperature, only the top_k kept.

    Temperature 0 is the limit: all probability on the highest score (greedy). top_k 0 keeps
    every character.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be at least 0, got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be at least 0 (0 keeps every character), got {top_k}")
    logits = logits.float()
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).float()
    return torch.softmax(logits / temperature, dim=-1)


@contextmanager
def evaluating(model: GPT):
    """The model in eval mode (no dropout) for the block, then back in the mode it was in: a
    measurement or a sample taken during training must not end its dropout."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.inference_mode()
def next_logits(model: GPT, ids: torch.Tensor) -> torch.Tensor:
    """(vocab,) scores for the character after ids, seen through the last context characters."""
    if len(ids) == 0:
        raise ValueError("the prompt is empty: the model needs at least one character to continue")
    with evaluating(model):
        return model(ids[-model.context:][None])[0, -1]


def next_probs(model: GPT, ids: torch.Tensor, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
    return reshape(next_logits(model, ids), temperature, top_k)


@dataclass
class Generation:
    ids: list[int]            # the generated characters' ids, prompt excluded
    probs: torch.Tensor       # (len(ids), vocab): the distribution each was drawn from


@torch.inference_mode()
def generate(model: GPT, prompt: torch.Tensor, n: int, temperature: float = 1.0, top_k: int = 0,
             seed: int = 0, use_cache: bool = True) -> Generation:
    """n characters after prompt, each drawn from the reshaped distribution; same seed, same text.

    With use_cache, the keys and values of what was read are kept (a KVCache) while the text
    fits the context, so each new character costs one position's work. Past the context the
    window slides and every position moves, so each character is then read afresh from the
    last context characters, as it is without the cache: the scores are the same either way.
    """
    if len(prompt) == 0:
        raise ValueError("the prompt is empty: the model needs at least one character to continue")
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    ids = prompt.tolist()
    out, dists = [], []
    with evaluating(model):
        cache = KVCache() if use_cache else None
        logits = model(torch.tensor([ids[-model.context:]], device=device), cache)[0, -1]
        for i in range(n):
            probs = reshape(logits, temperature, top_k).cpu()
            nxt = int(torch.multinomial(probs, 1, generator=gen)) if temperature > 0 else int(probs.argmax())
            out.append(nxt)
            dists.append(probs)
            ids.append(nxt)
            if i + 1 == n:
                break
            if cache is not None and cache.length < model.context:
                logits = model(torch.tensor([[nxt]], device=device), cache)[0, -1]
            else:
                logits = model(torch.tensor([ids[-model.context:]], device=device))[0, -1]
    return Generation(out, torch.stack(dists) if dists else torch.zeros(0, model.vocab_size))


@torch.inference_mode()
def attention(model: GPT, ids: torch.Tensor) -> list[torch.Tensor]:
    """Each layer's attention weights (heads, T, T) over the last context characters of ids.

    Recording is switched on in a copy: the model itself may be shared by other sessions.
    """
    model = copy.deepcopy(model).eval()
    model.record_attention(True)
    model(ids[-model.context:][None])
    return [block.attn.last_attention[0] for block in model.blocks]
