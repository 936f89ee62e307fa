"""End to end in a real browser: `streamlit run app.py` driven by Debian's Chromium via Playwright.

One server per module runs as a subprocess on a free port; each test gets its own empty store
behind it (see the server fixture). Playwright never downloads a browser here, it launches
/usr/bin/chromium. The module skips when either is missing. Set NNAPPS_SCREENSHOT_DIR to keep
a screenshot of the Compare page as compare.png.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.memory import free_port, healthy
from nnapps.store.runs import RunConfig

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"the browser test needs the playwright package ({exc})", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT = 60   # seconds for the server to answer its health check
TRAINING_TIMEOUT = 120      # seconds for the example's two runs to reach the Compare page
VIEWPORT = {"width": 1400, "height": 3000}  # tall: Streamlit scrolls inside its own container
EXAMPLE_LABELS = [RunConfig.make("digits", family).label() for family in ("mlp", "cnn")]


def _point(link: Path, target: Path) -> None:
    """Make link a symlink to target, replacing what it pointed to in one step."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    tmp.replace(link)


@pytest.fixture
def shared_server(tmp_path_factory):
    """A `streamlit run app.py` on a free port; yields (url, home link, data link, log path). Its
    NNAPPS_HOME and NNAPPS_DATA_DIR are symlinks that server points at the test's own folders.

    One server per test, not per module: the server keeps its run store's job queue (its job
    journal, its in-memory jobs) for its life, so a store swapped under it would lack the
    queue's tables and could be told of another test's finished trainings."""
    root = tmp_path_factory.mktemp("server")
    home, data = root / "nnapps_home", root / "nnapps_data"
    for link in (home, data):
        (root / f"{link.name}.empty").mkdir()
        _point(link, root / f"{link.name}.empty")
    port = free_port()
    env = {**os.environ, "NNAPPS_HOME": str(home), "NNAPPS_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    log_path = root / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer in {SERVER_START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield url, home, data, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def server(shared_server, tmp_path):
    """The module's server with this test's own, empty store (tmp_path / "nnapps_home", the
    shipped GPT in it) and data folder (tmp_path / "nnapps_data"); yields its URL. A test
    trains into the server's store with RunStore(tmp_path / "nnapps_home")."""
    from nnapps.gpt.runs import ensure_shipped
    from nnapps.store.runs import RunStore

    url, home, data, log_path = shared_server
    ensure_shipped(RunStore(tmp_path / "nnapps_home"))  # the server put it into its first store only
    (tmp_path / "nnapps_data").mkdir(exist_ok=True)
    _point(home, tmp_path / "nnapps_home")
    _point(data, tmp_path / "nnapps_data")
    seen = log_path.stat().st_size
    yield url
    with open(log_path, "rb") as log:
        log.seek(seen)
        log_text = log.read().decode(errors="replace")
    assert "Traceback" not in log_text, f"the server logged an error:\n{log_text}"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    yield page
    context.close()


def nav_titles(page) -> list[str]:
    """The page titles in the sidebar navigation (each link also holds its icon's name)."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    return [text.split("\n")[-1].strip() for text in links.all_inner_texts()]


def chart_titled(page, title: str):
    """Vega-Lite charts whose title (not a legend or an axis) reads title."""
    return page.locator('[data-testid="stVegaLiteChart"]').filter(
        has=page.locator(".role-title-text", has_text=title))


def test_deep_link_opens_the_page_through_app_py(server, page):
    """The first visitor of a fresh server opens a shared /compare?dataset=... link."""
    page.goto(f"{server}/compare?dataset=scattered-digits")
    expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("No runs on Scattered digits (28x28, made) yet.")).to_be_visible()
    # app.py's navigation (its titles), not Streamlit's legacy pages/ listing
    expect(page.locator('[data-testid="stSidebarNav"] a')).to_have_count(8)
    assert nav_titles(page) == ["Home", "Data", "Train", "Compare", "Sweeps", "Playground", "Inside", "GPT"]
    assert "dataset=scattered-digits" in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_example_trains_and_compares_two_models(server, page, tmp_path):
    page.goto(server)
    expect(page.get_by_role("heading", name="nnapps", exact=True)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Train an MLP and a CNN on digits").click()

    # "confusion matrices" is in the home page's intro too: wait for the Compare heading itself
    expect(page.get_by_role("heading", name="Confusion matrices", exact=True)).to_be_visible(
        timeout=TRAINING_TIMEOUT * 1000)
    assert "/compare" in page.url
    expect(page.get_by_text("2 of 2 finished")).to_be_visible(timeout=TRAINING_TIMEOUT * 1000)

    # one confusion matrix per run, each titled with its run's label
    for label in EXAMPLE_LABELS:
        expect(chart_titled(page, label)).to_have_count(1, timeout=30_000)
    for title in ("Loss per epoch", "Accuracy per epoch"):
        expect(chart_titled(page, title)).to_have_count(1)

    # the per-sample table: a heading, then a dataframe with every test sample
    heading = page.get_by_role("heading", name="Every test sample", exact=True)
    expect(heading).to_be_visible()
    expect(heading.locator("xpath=following::*[@data-testid='stDataFrame']").first).to_be_visible()
    expect(page.get_by_text("270 of 270 test samples", exact=False)).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    # let the last rerun settle (no running indicator), then keep a picture of the page
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(1000)
    shot = tmp_path / "compare.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if os.environ.get("NNAPPS_SCREENSHOT_DIR"):
        target = Path(os.environ["NNAPPS_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / "compare.png")


def test_data_page_plays_spoken_digits(server, page):
    """Sounds reach the browser as audio it can decode, beside their spectrograms."""
    page.goto(f"{server}/data?dataset=spoken-digits")
    expect(page.get_by_role("heading", name="Spoken digits (made with espeak-ng)")).to_be_visible(timeout=60_000)
    players = page.locator("audio")
    expect(players).to_have_count(30, timeout=30_000)  # three per class
    first = players.first
    first.scroll_into_view_if_needed()
    # The browser has fetched and parsed the WAV once it knows the clip lasts one second.
    page.wait_for_function("a => a.readyState >= 1 && Math.abs(a.duration - 1.0) < 0.01",
                           arg=first.element_handle(), timeout=30_000)
    expect(page.locator('[data-testid="stImage"] img')).to_have_count(30)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_playground_draws_a_digit_and_shows_every_models_probabilities(server, page, tmp_path):
    """A stroke drawn on the canvas reaches the models: each shows a prediction and its bars."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunStore

    store = RunStore(tmp_path / "nnapps_home")  # the server's store (see the server fixture)
    labels = [train_run(RunConfig.make("digits", family, train={"epochs": 5}), store).label
              for family in ("logreg", "mlp")]
    page.goto(f"{server}/playground?dataset=digits")
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible(timeout=60_000)
    canvas = page.locator("canvas").last
    expect(canvas).to_be_visible(timeout=30_000)
    box = canvas.bounding_box()
    # a "7": across the top, then down to the bottom left
    page.mouse.move(box["x"] + 90, box["y"] + 50)
    page.mouse.down()
    for x, y in ((200, 50), (170, 120), (125, 240)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=10)
    page.mouse.up()

    expect(page.get_by_role("heading", name="What each model says")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("What the models see")).to_be_visible()
    for label in labels:
        expect(page.get_by_text(label, exact=True).first).to_be_visible()
    # one bar chart of every class's probability per model
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(len(labels), timeout=30_000)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(len(labels))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_gpt_page_scores_every_character_and_draws_each_heads_attention(server, page):
    """The shipped GPT: its next-character table and, one tab away, a heatmap per head."""
    from nnapps.gpt.runs import SHIPPED, read_checkpoint

    config, _ = read_checkpoint(SHIPPED, header_only=True)
    page.goto(f"{server}/gpt")
    expect(page.get_by_role("heading", name="GPT: one character at a time")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("and scores all", exact=False)).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(1, timeout=30_000)
    page.get_by_role("tab", name="Attention").click()
    for head in range(1, config.hparams["n_heads"] + 1):
        expect(chart_titled(page, f"Head {head}")).to_have_count(1, timeout=30_000)
    maps = page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')
    expect(maps.first).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_chart_downloads_as_png(server, page, tmp_path):
    """The download menu beside a chart hands the browser a PNG file of it."""
    page.goto(f"{server}/gpt")
    expect(page.get_by_role("heading", name="GPT: one character at a time")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="How it trained").click()
    menu = page.get_by_role("button", name="Save chart").filter(visible=True).first
    expect(menu).to_be_visible(timeout=30_000)
    menu.click()
    with page.expect_download(timeout=60_000) as caught:
        page.get_by_role("button", name="PNG", exact=True).filter(visible=True).first.click()
    path = tmp_path / caught.value.suggested_filename
    caught.value.save_as(path)
    assert path.suffix == ".png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_shared_compare_link_opens_the_same_runs_in_a_fresh_profile(server, browser, page, tmp_path):
    """One visitor picks a run and copies the link; another, in a new profile, opens it."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunStore

    store = RunStore(tmp_path / "nnapps_home")
    mlp, cnn = (train_run(RunConfig.make("digits", family, train={"epochs": 2}), store) for family in ("mlp", "cnn"))
    page.goto(f"{server}/compare?dataset=digits")
    expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible(timeout=60_000)
    page.wait_for_function("() => new URL(location.href).searchParams.has('runs')", timeout=30_000)
    both = page.evaluate("() => new URL(location.href).searchParams.get('runs')")
    # Remove the MLP from the comparison: the link follows the runs shown.
    page.get_by_role("button", name=f"Remove {mlp.label}").first.click()
    page.wait_for_function("t => new URL(location.href).searchParams.get('runs') !== t", arg=both,
                           timeout=30_000)
    link = page.url
    fresh = browser.new_context(viewport=VIEWPORT)
    try:
        other = fresh.new_page()
        other.goto(link)
        expect(other.get_by_text("This link shows 1 run: 1 stored here.")).to_be_visible(timeout=60_000)
        chosen = other.locator('[data-testid="stMultiSelect"]').first
        expect(chosen).to_contain_text(cnn.label)
        expect(chosen).not_to_contain_text(mlp.label)
        expect(other.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        fresh.close()


def visitor_cookie(context) -> str:
    """The visitor id the app keeps in this browser profile, once the page has written it."""
    from nnapps.ui.visitor import COOKIE
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
        if found:
            return found[0]
        time.sleep(0.2)
    pytest.fail(f"the app wrote no {COOKIE} cookie")


def test_a_visitor_is_known_again_after_a_reload_and_strangers_do_not_see_their_runs(server, browser, tmp_path):
    """The cookie the app writes names the visitor to the server on their next visit; a run of
    theirs is listed for them and for nobody else."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunStore

    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    try:
        mine, stranger = (context.new_page() for context in contexts)
        mine.goto(f"{server}/compare?dataset=digits")
        expect(mine.get_by_text("No runs on Digits")).to_be_visible(timeout=60_000)
        visitor = visitor_cookie(contexts[0])
        run = train_run(RunConfig.make("digits", "logreg"), RunStore(tmp_path / "nnapps_home"), owner=visitor)
        mine.reload()
        expect(mine.locator('[data-testid="stMultiSelect"]').first).to_contain_text(run.label, timeout=60_000)
        assert visitor_cookie(contexts[0]) == visitor
        stranger.goto(f"{server}/compare?dataset=digits")
        expect(stranger.get_by_text("No runs on Digits")).to_be_visible(timeout=60_000)
        assert visitor_cookie(contexts[1]) not in (visitor, "")
        expect(stranger.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        for context in contexts:
            context.close()


# ms for the server's answer to a click: generous, the machine running the tests may be busy
ANSWER_TIMEOUT = 90_000


def settled(page) -> None:
    """Wait until no script run is going on (Streamlit's running indicator is gone)."""
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=ANSWER_TIMEOUT)


def ink_pixels(canvas) -> int:
    """Bright pixels on the drawing canvas and the layers stacked with it (the stroke is white on
    black)."""
    return canvas.evaluate("""c => {
        let n = 0;
        for (const layer of c.parentElement.querySelectorAll('canvas')) {
            const d = layer.getContext('2d').getImageData(0, 0, layer.width, layer.height).data;
            for (let i = 0; i < d.length; i += 4) if (d[i] > 128 && d[i + 3] > 0) n++;
        }
        return n;
    }""")


def test_the_first_stroke_on_a_freshly_opened_playground_stays(server, page, tmp_path):
    """The first stroke is the page's first interaction: its rerun must not remount the canvas
    (an element drawn only on a session's first run shifted every element after it)."""
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunStore

    train_run(RunConfig.make("digits", "logreg"), RunStore(tmp_path / "nnapps_home"))
    page.goto(f"{server}/playground?dataset=digits")
    canvas = page.locator("canvas").last
    expect(canvas).to_be_visible(timeout=60_000)
    settled(page)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 90, box["y"] + 50)
    page.mouse.down()
    for x, y in ((200, 50), (170, 120), (125, 240)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=10)
    page.mouse.up()
    expect(page.get_by_role("heading", name="What each model says")).to_be_visible(timeout=ANSWER_TIMEOUT)
    settled(page)
    assert ink_pixels(canvas) > 1000, "the stroke was erased by the page's rerun"
    expect(page.get_by_role("heading", name="What each model says")).to_be_visible()


def test_the_chosen_tab_stays_after_the_first_interaction(server, page):
    """On a freshly opened page, a tab is chosen, then a widget in it clicked: the page reruns
    and the tab is still the chosen one, the widget's answer in view."""
    page.goto(f"{server}/gpt")
    expect(page.get_by_text("and scores all", exact=False)).to_be_visible(timeout=60_000)
    settled(page)
    tab = page.get_by_role("tab", name="Step by step")
    tab.click()
    page.locator('[data-testid="stButtonGroup"] button').nth(2).click()
    step = page.get_by_text("Step 3: after", exact=False)
    expect(step).to_have_count(1, timeout=ANSWER_TIMEOUT)  # the server's answer to the click
    settled(page)
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(step).to_be_visible()


def test_markdown_in_an_uploads_labels_and_name_stays_text(server, page, tmp_path):
    """Issue 16: a CSV whose labels and file name are Markdown and HTML shows them as written, on
    the Data page of the upload: no link, no image, no bold text made from them."""
    from test_hostile import FILE_NAME, HOSTILE, hostile_csv
    page.goto(f"{server}/data")
    expect(page.get_by_role("heading", name="Use your own data")).to_be_visible(timeout=60_000)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": FILE_NAME, "mimeType": "text/csv", "buffer": hostile_csv()}])
    page.get_by_role("button", name=f"Open {FILE_NAME} (yours)").click(timeout=60_000)
    expect(page.get_by_role("heading", name=f"{FILE_NAME} (yours)")).to_be_visible(timeout=60_000)
    main = page.locator('[data-testid="stMain"]')
    description = main.get_by_text("48 texts in 6 classes").first
    expect(description).to_be_visible()
    # Read without the zero-width spaces that keep Markdown from linking addresses.
    read = description.inner_text().replace("\u200b", "")
    assert all(label in read for label in HOSTILE) and FILE_NAME in read, read
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
    expect(page.locator('a[href*="x.example"]')).to_have_count(0)
    expect(page.locator('img[src*="x.example"]')).to_have_count(0)
    expect(main.locator("strong", has_text="bold")).to_have_count(0)
    expect(main.locator(".katex")).to_have_count(0)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def matrix_cell(page, title: str, true_class: str, predicted: str):
    """One cell of a confusion or difference matrix (Vega draws SVG; each cell names itself)."""
    return chart_titled(page, title).locator(
        f'path[aria-label*="true: {true_class};"][aria-label*="predicted: {predicted};"]')


def test_a_difference_cell_lists_its_samples_and_the_scrubber_replays_an_epoch(server, page, tmp_path):
    """Click a cell of A minus B: the table lists exactly that cell's samples. Move the epoch
    slider: the matrices are the ones of that epoch."""
    import numpy as np

    from nnapps.analysis.comparison import cell_samples
    from nnapps.training.pipeline import train_run
    from nnapps.store.runs import RunStore

    store = RunStore(tmp_path / "nnapps_home")
    mlp = train_run(RunConfig.make("digits", "mlp", train={"epochs": 4, "patience": 0}), store)
    logreg = train_run(RunConfig.make("digits", "logreg"), store)
    y, names = mlp.y_test, mlp.class_names
    # The cell where A and B differ most, off the diagonal.
    diff = np.abs(np.array(mlp.metrics["confusion"]) - np.array(logreg.metrics["confusion"]))
    np.fill_diagonal(diff, -1)
    i, j = (int(v) for v in np.unravel_index(diff.argmax(), diff.shape))
    ids = cell_samples(y, [mlp.test_proba, logreg.test_proba], i, j)
    assert len(ids) > 0

    page.goto(f"{server}/compare?dataset=digits")
    expect(page.get_by_role("heading", name="Confusion matrices", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Is it real?", exact=False)).to_be_visible(timeout=30_000)
    matrix_cell(page, "A minus B", names[i], names[j]).click()
    expect(page.get_by_text(f"Confusion cell: true {names[i]}, predicted {names[j]} by A or B: "
                            f"{len(ids)} samples")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"{len(ids)} of 270 test samples", exact=False)).to_be_visible()
    expect(page.get_by_text(f"Test sample #{ids[0]}, true class {names[i]}")).to_be_visible()
    page.wait_for_function("c => new URL(location.href).searchParams.get('cell') === c",
                           arg=f"{i}.{j}.either", timeout=30_000)

    # Epoch 1 of four: A's matrix, A minus B and the cell's samples as they were then.
    at_one = store.snapshots(mlp.run_id)["proba"][0].astype(np.float32)
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (y, at_one.argmax(1)), 1)
    changed = next((a, b) for a in range(10) for b in range(10)
                   if counts[a, b] != mlp.metrics["confusion"][a][b])
    cell = matrix_cell(page, mlp.label, names[changed[0]], names[changed[1]])
    final_count = mlp.metrics['confusion'][changed[0]][changed[1]]
    expect(cell).to_have_attribute("aria-label", re.compile(f"count: {final_count}\\b"))
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("Home")
    expect(page.get_by_text("Replaying epoch 1", exact=False)).to_be_visible(timeout=30_000)
    expect(cell).to_have_attribute("aria-label", re.compile(f"count: {counts[changed]}\\b"), timeout=30_000)
    ids_then = cell_samples(y, [at_one, logreg.test_proba], i, j)
    expect(page.get_by_text(f"{len(ids_then)} of 270 test samples", exact=False)).to_be_visible()


def test_a_sweep_started_on_the_train_page_shows_progress_and_opens_the_sweep_view(server, page):
    page.goto(f"{server}/train?dataset=digits")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Sweep", exact=True).click()
    for label, value in (("Learning rate (lr)", "0.003, 0.01"), ("Epochs", "1")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
    expect(page.get_by_text("2 trials (2 configs x 1 seed): 0 stored, 2 to train")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Start the sweep (2 to train)").click()
    expect(page.get_by_text("2 done, 0 running, 0 queued of 2 trials")).to_be_visible(
        timeout=TRAINING_TIMEOUT * 1000)
    expect(page.get_by_text("Best so far:")).to_be_visible()
    # the finished sweep reruns the page once: let that settle before following the link
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
    # A click that lands while the finished sweep's rerun redraws the link can be lost: try again.
    for attempt in range(3):
        page.get_by_role("link", name="Open the sweep view").click()
        try:
            expect(page).to_have_url(re.compile(r"/sweeps\?"), timeout=20_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(page.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=60_000)
    assert "sweep=" in page.url
    expect(page.get_by_role("heading", name="Configs, best first")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(1)
    expect(chart_titled(page, "Settings against validation accuracy")).to_have_count(1, timeout=30_000)
    expect(page.get_by_role("link", name="Compare the top 2 in Compare")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
