"""Model inputs for every modality, so tests parametrised over every family feed each its own kind.

Image families get images (N, C, H, W) in [0, 1]; text families get token ids (N, T) int64 where
0 pads the end of a text, 1 is <unk> and real words are 2 .. vocab_size - 1; audio families get
standardised log-mel spectrograms (N, 1, n_mels, frames) float32, roughly mean 0 and spread 1.
A family's first modality decides its inputs here (cnn takes images).
"""

import pytest
import torch

from nnapps.models import CLASSIFIERS, InputInfo

IMAGE_INFOS = (InputInfo((1, 8, 8)), InputInfo((3, 12, 12)))
TEXT_INFOS = (InputInfo((12,), vocab_size=50), InputInfo((40,), vocab_size=300))
AUDIO_INFOS = (InputInfo((1, 16, 21)), InputInfo((1, 24, 33)))
INFOS = {"image": IMAGE_INFOS, "text": TEXT_INFOS, "audio": AUDIO_INFOS}
# The registered dataset each modality's run configs name (a spec lookup; nothing is loaded).
DATASET_FOR = {"image": "digits", "text": "reviews", "audio": "spoken-digits"}
PAD_ID, FIRST_WORD_ID = 0, 2


def modality_of(family: str) -> str:
    return CLASSIFIERS[family].modalities[0]


def infos_for(family: str) -> tuple[InputInfo, ...]:
    return INFOS[modality_of(family)]


def info_for(family: str) -> InputInfo:
    """The small input every family is built for unless a test says otherwise."""
    return infos_for(family)[0]


def info_id(info: InputInfo) -> str:
    shape = "x".join(map(str, info.shape))
    return f"{shape}v{info.vocab_size}" if info.vocab_size else shape


def family_infos(families=None) -> list:
    """pytest params (family, info) for each family and each input its modality is tested with."""
    return [pytest.param(name, info, id=f"{name}-{info_id(info)}")
            for name in (families or CLASSIFIERS) for info in infos_for(name)]


def token_ids(n: int, length: int, vocab_size: int, seed: int = 0, min_len: int = 1,
              empty_rows: int = 1) -> torch.Tensor:
    """(n, length) int64 ids: rows of random real words of random lengths, padded at the end.

    The last empty_rows rows are all padding (an empty text).
    """
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(FIRST_WORD_ID, vocab_size, (n, length), generator=g)
    lengths = torch.randint(min_len, length + 1, (n,), generator=g)
    lengths[0] = length  # at least one text fills the whole width
    if empty_rows:
        lengths[n - empty_rows:] = 0
    ids[torch.arange(length)[None, :] >= lengths[:, None]] = PAD_ID
    return ids


def spectrograms(n: int, info: InputInfo, seed: int = 0) -> torch.Tensor:
    """(n, 1, n_mels, frames) float32 standard-normal values, as a fitted LogMelSpectrogram gives."""
    return torch.randn((n, *info.shape), generator=torch.Generator().manual_seed(seed))


def small_batch(info: InputInfo, n: int = 32, n_classes: int = 4, seed: int = 0,
                empty_rows: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """X for info (images in [0, 1], token ids with padded rows and empty_rows empty texts, or
    standardised-looking spectrograms for (1, n_mels, frames)) and arbitrary labels
    y = index mod n_classes."""
    if info.vocab_size:
        X = token_ids(n, info.shape[0], info.vocab_size, seed, min_len=3, empty_rows=empty_rows)
    elif info in AUDIO_INFOS:
        X = spectrograms(n, info, seed)
    else:
        X = torch.rand((n, *info.shape), generator=torch.Generator().manual_seed(seed))
    return X, torch.arange(n) % n_classes


def fit_until(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, max_steps: int,
              target: float = 0.05, lr: float = 3e-3) -> tuple[float, int]:
    """Full-batch Adam steps until the cross-entropy on (X, y) is below target; the last loss
    and the step it was measured at."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for step in range(max_steps):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        if loss.item() < target:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item(), step
