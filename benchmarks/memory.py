"""Memory benchmark: the server's resident memory with ten stored runs across modalities while
a headless browser opens the Compare page of each dataset, then the GPT page.

It drives a real `streamlit run app.py` (its own store, a free port) with Debian's chromium
through playwright, and reads the server's resident set from /proc after each page.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
# Ten runs: every modality, classifiers of each kind, and the shipped GPT.
RUNS = (("digits", "logreg", {}), ("digits", "mlp", {}), ("digits", "cnn", {}),
        ("reviews", "tfidf", {}), ("reviews", "boe", {}), ("reviews", "gru", {"epochs": 3}),
        ("spoken-digits", "pooled-logreg", {}), ("spoken-digits", "pooled-mlp", {}),
        ("spoken-digits", "cnn", {"epochs": 3}))
PAGES = ("compare?dataset=digits", "compare?dataset=reviews", "compare?dataset=spoken-digits", "gpt")
TARGET_MB = 700


def _rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    """A TCP port on localhost that nothing listens on (for a server of the bench or the tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at url answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:  # urllib's URLError is one
        return False


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")
        time.sleep(0.3)


def server_memory(log=print) -> dict:
    if not CHROMIUM.exists():
        return {"skipped": f"needs Debian's chromium at {CHROMIUM}"}
    from playwright.sync_api import sync_playwright

    from nnapps.gpt.runs import ensure_shipped
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunConfig, RunStore

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NNAPPS_HOME": f"{tmp}/home", "NNAPPS_DATA_DIR": f"{tmp}/data"}
        store = RunStore(Path(tmp) / "home")
        log(f"memory: training {len(RUNS)} runs and storing the shipped GPT")
        for dataset, family, train in RUNS:
            train_run(RunConfig.make(dataset, family, train=train), store)
        ensure_shipped(store)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url, proc)
            after = {"started": _rss_mb(proc.pid)[0]}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                for path in PAGES:
                    page.goto(f"{url}/{path}")
                    page.wait_for_selector('[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"]',
                                           timeout=120_000)
                    page.wait_for_timeout(5000)  # the rest of the page, and the server settling
                    after[path] = _rss_mb(proc.pid)[0]
                    log(f"memory: {path}: {after[path]:.0f} MB")
                browser.close()
            peak = _rss_mb(proc.pid)[1]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"runs": len(RUNS) + 1, "resident_mb_after": after, "peak_resident_mb": peak,
            "target_mb": TARGET_MB, "under_target": peak < TARGET_MB}
