"""Links that carry runs: the settings of each run shown, not opaque ids, so a link opened on
another machine or a fresh copy rebuilds (or trains, seeded) the same runs.

A token is compressed JSON: per run its family and only the settings that differ from the
defaults, in URL-safe base64. Decoding validates every run as RunConfig.make does and says
which ones a link names wrongly, keeping the rest.
"""

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field

from nnapps.store.runs import RunConfig

VERSION = 1
MAX_TOKEN_CHARS = 4000
MAX_RUNS = 12


class LinkError(ValueError):
    """A link that cannot be read at all, with the reason for a person."""


@dataclass
class Decoded:
    configs: list[RunConfig] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per run the link names wrongly


def _changed(values: dict, defaults: dict) -> dict:
    return {k: v for k, v in values.items() if defaults.get(k) != v}


def _pack(payload: dict) -> str:
    blob = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(blob, 9)).rstrip(b"=").decode()


def _unpack(token: str) -> dict:
    if len(token) > MAX_TOKEN_CHARS:
        raise LinkError(f"the link's list of runs is {len(token):,} characters long; at most {MAX_TOKEN_CHARS:,}")
    try:
        # At most 64 KB unpacked: a small token cannot blow up into a large one.
        raw = zlib.decompressobj().decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)),
                                              64 * 1024)
        payload = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError, UnicodeDecodeError, RecursionError):
        raise LinkError("the link's list of runs is damaged (was it cut off when it was copied?)") from None
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise LinkError("the link's list of runs is not one this version of nnapps writes")
    return payload


def encode_gpt(config: RunConfig) -> str:
    """A token for one GPT run: its corpus and the settings that differ from the defaults."""
    from nnapps.gpt.runs import corpus_name, gpt_config
    corpus = corpus_name(config)
    base = gpt_config(corpus, check_limits=False)
    return _pack({"v": VERSION, "c": corpus, "h": _changed(config.hparams, base.hparams),
                  "t": _changed(config.train, base.train)})


def decode_gpt(token: str) -> RunConfig:
    """The GPT run a token names; LinkError says what is wrong with it."""
    from nnapps.gpt.runs import gpt_config
    payload = _unpack(token)
    try:
        corpus = payload.get("c")
        if not isinstance(corpus, str):
            raise ValueError("it names no text")
        return gpt_config(corpus, _dict(payload, "h"), _dict(payload, "t"), check_limits=False)
    except (ValueError, TypeError) as exc:
        raise LinkError(f"the link's model cannot be made here: {exc}") from None


def encode_runs(configs: list[RunConfig]) -> str:
    """A token for the runs' configs (all of one dataset)."""
    items = []
    for c in configs:
        base = RunConfig.make(c.dataset, c.family, split_seed=c.split_seed)
        item = {"f": c.family, "h": _changed(c.hparams, base.hparams), "t": _changed(c.train, base.train),
                "x": _changed(c.features, base.features)}
        items.append({k: v for k, v in item.items() if v or k == "f"} | ({"s": c.split_seed} if c.split_seed else {}))
    return _pack({"v": VERSION, "r": items})


def decode_runs(token: str, dataset: str) -> Decoded:
    """The configs a token names on dataset; LinkError when the token itself is unreadable."""
    payload = _unpack(token)
    if not isinstance(payload.get("r"), list):
        raise LinkError("the link's list of runs is not one this version of nnapps writes")
    items = payload["r"]
    out = Decoded()
    if len(items) > MAX_RUNS:
        out.problems.append(f"the link names {len(items)} runs; the first {MAX_RUNS} are shown")
        items = items[:MAX_RUNS]
    for n, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("f"), str):
                raise ValueError("it names no model")
            config = RunConfig.make(dataset, item["f"], _dict(item, "h"), _dict(item, "t"),
                                    int(item.get("s", 0)), _dict(item, "x"))
        except (ValueError, TypeError) as exc:
            out.problems.append(f"run {n} of the link was left out: {exc}")
            continue
        if config.run_id not in {c.run_id for c in out.configs}:  # the same run named twice
            out.configs.append(config)
    return out


def _dict(item: dict, key: str) -> dict:
    value = item.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"its settings are not a mapping: {value!r}")
    return value
