"""A recurrent network's memory word by word: its state after each token, and what it would
predict had the text ended there."""

from dataclasses import dataclass

import numpy as np
import torch

from nnapps.models.rnn import RNNClassifier


@dataclass(frozen=True)
class Memory:
    """What a GRU or LSTM carried through one text of T tokens.

    states_: (T, hidden) the forward direction's state (the top layer's) after each token;
    change_: (T,) how far each token moved that state (the norm of the step, from zeros at first);
    probas_: (T, n_classes) the model's probabilities for the text cut after each token: the
    last row is its prediction for the whole text.
    """

    tokens: list[str]
    states_: np.ndarray
    change_: np.ndarray
    probas_: np.ndarray


def memory_by_word(model: RNNClassifier, ids: torch.Tensor, tokens: list[str]) -> Memory:
    """Read the (T_max,) token ids of one text (padding 0 after its T real tokens, as the
    tokenizer gives them) through model; tokens are their T strings."""
    if not isinstance(model, RNNClassifier):
        raise ValueError(f"memory_by_word needs a GRU or LSTM classifier, got {type(model).__name__}")
    real = ids[ids != 0]
    n_tokens = len(real)
    if n_tokens == 0:
        raise ValueError("the text has no tokens to read")
    if len(tokens) != n_tokens:
        raise ValueError(f"{len(tokens)} token strings for {n_tokens} token ids")
    # Row t holds the first t + 1 tokens, padded: the model reads each prefix as a whole text.
    prefixes = torch.zeros((n_tokens, n_tokens), dtype=real.dtype)
    for t in range(n_tokens):
        prefixes[t, :t + 1] = real[:t + 1]
    with torch.no_grad():
        probas = torch.softmax(model(prefixes), dim=1).numpy()
        output, _ = model.rnn(model.embed(real[None]))            # (1, T, hidden * directions)
    states = output[0, :, :model.config.hidden].numpy()           # the forward direction
    steps = np.diff(np.vstack([np.zeros((1, states.shape[1])), states]), axis=0)
    return Memory(tokens=list(tokens), states_=states, change_=np.linalg.norm(steps, axis=1),
                  probas_=probas)
