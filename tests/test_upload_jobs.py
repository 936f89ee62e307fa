"""An upload is decoded with progress and can be stopped: in the library (store_upload's progress
and should_stop) and on the Data page, where a worker decodes it while the page stays usable."""

import threading

import pytest
from page_helpers import POLL_TIMEOUT, assert_ok, button, image_zip, open_page, poll, progress_texts, texts

from nnapps.data import user_images
from nnapps.data.dataset import DecodingStopped
from nnapps.data.uploads import store_upload, stored_specs


def test_store_upload_reports_progress_per_image_up_to_one():
    heard = []
    spec = store_upload(image_zip(per_class=3), "pets.zip", progress=lambda f, msg: heard.append((f, msg)))
    fractions = [f for f, _ in heard]
    # One report per image (6), then the store's own.
    assert fractions[:6] == pytest.approx([i / 6 for i in range(1, 7)])
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert heard[0][1] == "decoded 1 of 6 images"
    assert "6 images" in spec.description


def test_a_stop_after_the_first_image_stores_nothing_and_says_so():
    heard = []
    with pytest.raises(DecodingStopped, match="stopped after 1 of 8 images; nothing was stored"):
        store_upload(image_zip(), "pets.zip", progress=lambda f, msg: heard.append(f),
                     should_stop=lambda: len(heard) >= 1)
    assert heard == [1 / 8]
    assert stored_specs() == []


def test_a_stopped_sound_upload_stores_nothing():
    from test_pages import sounds_zip
    with pytest.raises(DecodingStopped, match="stopped after 0 of 6 sounds"):
        store_upload(sounds_zip(), "tones.zip", should_stop=lambda: True)
    assert stored_specs() == []


@pytest.fixture
def held(monkeypatch):
    """Image decoding that waits, at the second image, until the test lets it go on; counts calls."""
    go_on, calls = threading.Event(), []
    decode = user_images._decode

    def held_decode(archive, info, size):
        calls.append(info.filename)
        if len(calls) == 2:
            go_on.wait(POLL_TIMEOUT)
        return decode(archive, info, size)

    monkeypatch.setattr(user_images, "_decode", held_decode)
    yield go_on, calls
    go_on.set()  # never leave a worker waiting


def checking(at) -> bool:
    return any("decoded 1 of 8 images" in t for t in progress_texts(at))


def test_data_page_shows_progress_then_the_stored_upload(app, held):
    go_on, calls = held
    open_page(app, "pages/data.py")
    app.file_uploader(key="data_upload").upload("pets.zip", image_zip(), "application/zip").run()
    # The script run ended while the worker decodes: the page shows where it is, and a stop.
    poll(app, checking, "the first image decoded")
    assert [p.proto.value for p in app.get("progress")] == [12]  # 1 of 8, in percent
    assert button(app, "Stop checking")
    # The page answers meanwhile: another dataset opens, and the rerun, with the same file still in
    # the uploader, finds the same job instead of starting a second decode.
    app.selectbox(key="dataset").set_value("reviews").run()
    assert_ok(app)
    assert texts(app.title)[0].startswith("Reviews")
    assert len(calls) == 2 and checking(app)
    go_on.set()
    poll(app, lambda at: texts(at.success), "the stored upload")
    assert not app.error and not app.get("progress")
    assert any("Stored pets.zip" in s for s in texts(app.success))
    assert len(calls) == 8
    button(app, "Open pets.zip (yours)").click().run()
    assert_ok(app)
    assert texts(app.title) == ["pets.zip (yours)"]


def test_data_page_stop_leaves_nothing_stored(app, held):
    go_on, calls = held
    open_page(app, "pages/data.py")
    app.file_uploader(key="data_upload").upload("pets.zip", image_zip(), "application/zip").run()
    poll(app, checking, "the first image decoded")
    button(app, "Stop checking").click().run()
    assert_ok(app)
    go_on.set()
    poll(app, lambda at: texts(at.error), "the stopped check")
    assert texts(app.error) == ["pets.zip could not be used: stopped after 2 of 8 images; nothing was stored"]
    assert not app.success and stored_specs() == []
    # Checking it again starts a new decode of the same file, which now runs to the end.
    button(app, "Check it again").click().run()
    poll(app, lambda at: texts(at.success), "the stored upload")
    assert len(calls) == 2 + 8 and len(stored_specs()) == 1

