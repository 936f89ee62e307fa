"""Heavy libraries are imported where they are used: the command line's help needs none of
them, and a command-line MLP training on digits needs neither pandas nor librosa."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each test starts a fresh interpreter (torch and all).
pytestmark = pytest.mark.slow
HEAVY = ("torch", "sklearn", "scipy", "pandas", "librosa", "streamlit", "altair")

# Runs the command line in a fresh interpreter where importing pandas or librosa fails, as if
# they were not installed. scikit-learn imports pandas only when it is there (an optional
# dependency of its own), so this shows what nnapps itself needs.
WITHOUT_PANDAS_OR_LIBROSA = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "librosa"):
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, Missing())
from nnapps.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _python(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def test_help_imports_no_heavy_library():
    done = _python("-c", "import sys\nfrom nnapps.cli import main\n"
                         "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                         f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert done.returncode == 0, done.stderr
    assert "python -m nnapps" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_mlp_trains_on_digits_without_pandas_or_librosa():
    done = _python("-c", WITHOUT_PANDAS_OR_LIBROSA, "train", "--dataset", "digits", "--model", "mlp",
                   "--epochs", "1", "--json", env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["dataset"], result["model"], result["epochs_run"]) == ("digits", "mlp", 1)
    assert result["accuracy"] > 0.5  # it really trained: ten classes, chance is 0.1


# What a worker does for a GPT: the task module (as the process backend imports it), then one
# short training through perform. A GPT reads characters: no table, no sound, no solver.
GPT_WORKER = """
import sys
from nnapps.execution.task import Training, perform
from nnapps.gpt.runs import gpt_config

config = gpt_config("builtin", {"n_layers": 1, "width": 32, "context": 16}, {"steps": 4, "eval_every": 2,
                                                                           "batch_size": 4})
outcome = perform(Training(config), report=lambda progress: None, should_stop=lambda: False)
assert outcome.run.status == "complete" and outcome.weights
print(sorted({m.split('.')[0] for m in sys.modules} & {heavy}))
"""


def test_a_gpt_trains_in_a_worker_without_scikit_learn_or_the_pages_libraries():
    heavy = {"sklearn", "scipy", "pandas", "librosa", "numba", "streamlit", "altair"}
    done = _python("-c", GPT_WORKER.replace("{heavy}", repr(heavy)), env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_naming_the_datasets_imports_no_scikit_learn():
    done = _python("-c", "import sys\nfrom nnapps.data import dataset_specs, get_spec\n"
                         "assert get_spec('digits').modality == 'image' and 'mnist' in dataset_specs()\n"
                         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
