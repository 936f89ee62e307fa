"""The benchmarks sit outside the package: the package never imports them, the GPT benchmark
never imports the UI, and both `python -m benchmarks` and `python -m nnapps bench` reach them."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each test starts a fresh interpreter (torch and all).
pytestmark = pytest.mark.slow


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_package_does_not_import_the_benchmarks():
    done = _python("import sys, nnapps.cli, nnapps.training.pipeline, nnapps.gpt.runs\n"
                   "print(sorted(m for m in sys.modules if m.split('.')[0] == 'benchmarks'))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_benchmarks_do_not_import_the_ui():
    done = _python("import sys, benchmarks.suite, benchmarks.gpt, benchmarks.memory\n"
                   "print(sorted(m for m in sys.modules if m.startswith(('nnapps.ui', 'streamlit'))))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_both_commands_reach_the_benchmarks():
    for command in (["-m", "benchmarks"], ["-m", "nnapps", "bench"]):
        done = subprocess.run([sys.executable, *command, "--only", "nope"], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        # argparse refuses an unknown section and names the real ones: the benchmarks' own parser
        assert done.returncode == 2
        assert "invalid choice: 'nope'" in done.stderr and "'memory'" in done.stderr


def test_next_char_latency_scores_the_shipped_model():
    from benchmarks.gpt import next_char_latency

    result = next_char_latency(repeats=2)
    assert result["prompt_chars"] == 64
    assert 0 < result["median_ms"] <= result["max_ms"]
