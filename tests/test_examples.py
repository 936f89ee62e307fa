"""The Home page's one-click examples: each trains valid configs and has a measured time."""

import re

import pytest

from nnapps.examples import EXAMPLES, MEASURED_SECONDS, time_sentence


def test_every_example_has_a_measured_time_and_nothing_else_does():
    assert set(MEASURED_SECONDS) == {e.dataset for e in EXAMPLES}
    assert all(seconds > 0 for seconds in MEASURED_SECONDS.values())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.dataset)
def test_an_example_builds_its_configs_and_says_its_time(example):
    configs = example.configs()
    assert [c.family for c in configs] == list(example.families)
    assert {c.dataset for c in configs} == {example.dataset}
    assert re.fullmatch(r"About \d+ (s|minutes) on 2 cores", time_sentence(example))
