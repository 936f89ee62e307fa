"""A GRU's or LSTM's memory word by word, checked against the model's own outputs."""

import numpy as np
import pytest
import torch

from nnapps.analysis.recurrent import memory_by_word
from nnapps.models.rnn import RNNClassifier, RNNConfig


def model_of(cell: str, bidirectional: bool, n_layers: int = 1) -> RNNClassifier:
    torch.manual_seed(0)
    return RNNClassifier(RNNConfig(vocab_size=30, n_classes=3, cell=cell, embed_dim=8, hidden=6,
                                   n_layers=n_layers, bidirectional=bidirectional)).eval()


@pytest.mark.parametrize("cell, bidirectional, n_layers", [("gru", True, 1), ("lstm", False, 2), ("gru", False, 1)])
def test_last_step_is_the_models_prediction_and_each_step_its_prefix(cell, bidirectional, n_layers):
    model = model_of(cell, bidirectional, n_layers)
    ids = torch.tensor([5, 9, 2, 17, 3, 0, 0, 0])  # five tokens, padded as the tokenizer does
    memory = memory_by_word(model, ids, ["a", "b", "c", "d", "e"])
    with torch.no_grad():
        whole = torch.softmax(model(ids[None]), dim=1)[0].numpy()
        after_two = torch.softmax(model(torch.tensor([[5, 9]])), dim=1)[0].numpy()
    assert memory.probas_.shape == (5, 3)
    np.testing.assert_allclose(memory.probas_[-1], whole, atol=1e-6)
    np.testing.assert_allclose(memory.probas_[1], after_two, atol=1e-6)
    np.testing.assert_allclose(memory.probas_.sum(1), 1.0, atol=1e-6)


def test_states_are_the_forward_directions_and_changes_their_steps():
    model = model_of("gru", bidirectional=True)
    ids = torch.tensor([4, 8, 15, 0])
    memory = memory_by_word(model, ids, ["x", "y", "z"])
    # The forward direction's last state is the one the model's final hidden state holds.
    with torch.no_grad():
        _, h = model.rnn(model.embed(ids[None, :3]))
    np.testing.assert_allclose(memory.states_[-1], h[0, 0].numpy(), atol=1e-6)
    assert memory.states_.shape == (3, 6)
    np.testing.assert_allclose(memory.change_[0], np.linalg.norm(memory.states_[0]), atol=1e-6)
    np.testing.assert_allclose(memory.change_[2], np.linalg.norm(memory.states_[2] - memory.states_[1]), atol=1e-6)


def test_bad_inputs_say_what_is_wrong():
    model = model_of("gru", bidirectional=False)
    with pytest.raises(ValueError, match="no tokens"):
        memory_by_word(model, torch.tensor([0, 0]), [])
    with pytest.raises(ValueError, match="2 token strings for 3 token ids"):
        memory_by_word(model, torch.tensor([1, 2, 3]), ["a", "b"])
    with pytest.raises(ValueError, match="GRU or LSTM"):
        memory_by_word(torch.nn.Linear(2, 2), torch.tensor([1]), ["a"])
