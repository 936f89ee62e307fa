"""STYLE point 1: the core never imports Streamlit. Every module outside nnapps/ui imports without it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnapps"

# Runs in a fresh interpreter: a None entry in sys.modules makes `import streamlit` raise
# ImportError, as if Streamlit were not installed.
CHILD = """
import importlib, json, sys
sys.modules["streamlit"] = None
modules = json.loads(sys.argv[1])
failed = {}
for name in modules:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
try:
    importlib.import_module("nnapps.ui.state")  # a UI module: must fail here, proving the block
    ui_blocked = False
except ImportError:
    ui_blocked = True
loaded = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
print(json.dumps({"failed": failed, "ui_blocked": ui_blocked,
                  "streamlit_loaded": [m for m in loaded if sys.modules[m] is not None]}))
"""


def core_modules() -> list[str]:
    """Every module of the package except nnapps/ui/ and the __main__ entry point."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[:2] == ["nnapps", "ui"] or parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_core_modules_are_found():
    modules = core_modules()
    for expected in ("nnapps", "nnapps.cli", "nnapps.execution.jobs", "nnapps.training.pipeline", "nnapps.store.runs",
                     "nnapps.training.loop", "nnapps.data.registry", "nnapps.models.cnn"):
        assert expected in modules
    assert not any(m.startswith("nnapps.ui") for m in modules)


@pytest.mark.slow
def test_every_core_module_imports_without_streamlit():
    modules = core_modules()
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(modules)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ui_blocked"], "the Streamlit block did not work, so this test proves nothing"
    assert report["failed"] == {}, f"core modules that need Streamlit (or fail): {report['failed']}"
    assert report["streamlit_loaded"] == []
