"""Helpers for the page tests in AppTest: open a page, find its elements, wait for training,
make the runs and uploads a page shows. The fixtures (app, fresh_services) are in conftest.py."""

import io
import re
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnapps.training.pipeline import train_run
from nnapps.store.runs import RunConfig, RunStore
from nnapps.ui import services, state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
RUN_TIMEOUT = 60      # seconds one script run may take (the first import of torch is slow)
POLL_TIMEOUT = 60     # seconds to wait for background training


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def read(markdown: str) -> str:
    """What a person reads of Markdown that nnapps.ui.escape made literal: the text itself."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u200b", "")


def button(at: AppTest, label: str):
    matches = [b for b in at.button if read(b.label) == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def texts(elements) -> list[str]:
    return [read(e.value) for e in elements]


def page_html(at: AppTest) -> list[str]:
    """The bodies of the page's st.html elements, less the hidden cookie element (and its style)
    that nnapps.ui.visitor draws on every run."""
    from nnapps.ui.visitor import COOKIE
    return [h.proto.body for h in at.get("html") if COOKIE not in h.proto.body]


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def encodings(spec: dict) -> list[dict]:
    """The encodings of a chart's spec: its own and its layers' (a curve is a line layer and a
    points layer)."""
    return [s["encoding"] for s in [spec, *spec.get("layer", [])] if "encoding" in s]


def chart_titles(at: AppTest) -> list[str]:
    return [spec.get("title") for spec in chart_specs(at)]


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def job_snapshots(at: AppTest):
    queue = services.get_queue()
    return [queue.snapshot(j) for j in at.session_state[state.JOBS]]


def poll(at: AppTest, done, what: str, timeout: float = POLL_TIMEOUT, interval: float = 0.3) -> AppTest:
    """Rerun the app until done(at) holds (training runs in threads between reruns)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert_ok(at)
        if done(at):
            return at
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; "
                        f"progress: {progress_texts(at)}")
        time.sleep(interval)


def train_two_digits_runs(epochs: int = 2) -> list:
    """An MLP and a CNN on digits, trained directly into the test's NNAPPS_HOME."""
    store = RunStore()
    return [train_run(RunConfig.make("digits", family, train={"epochs": epochs}), store)
            for family in ("mlp", "cnn")]


def image_zip(classes=("cats", "dogs"), per_class: int = 4) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for c, name in enumerate(classes):
            for i in range(per_class):
                pixels = np.full((10, 10, 3), 30 * i + 100 * c, dtype=np.uint8)
                png = io.BytesIO()
                Image.fromarray(pixels).save(png, format="PNG")
                archive.writestr(f"{name}/{i}.png", png.getvalue())
    return buf.getvalue()


def upload(at: AppTest, name: str, data: bytes, mime: str = "application/zip") -> AppTest:
    """Give the Data page's uploader a file and rerun until its check (in a worker) has ended."""
    at.file_uploader(key="data_upload").upload(name, data, mime).run()
    assert_ok(at)
    return checked(at)


def checked(at: AppTest) -> AppTest:
    """Rerun until the Data page's upload check (in a worker) has ended."""
    return poll(at, lambda at: not any(b.key == "upload_stop" for b in at.button), "the upload's check")
