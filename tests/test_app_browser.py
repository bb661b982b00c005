"""The page in a real headless browser: Debian's Chromium, driven by Playwright.

Uploads ../shared/data/bw/ansel_adams.jpg, waits for the result, checks that a colorized image
of the input's size came back, and saves a screenshot (set COLORGAN_SCREENSHOT=docs/images/serve.png
to refresh the README's picture; COLORGAN_SCREENSHOT_CKPT picks a better-trained checkpoint).
"""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path(os.environ.get("COLORGAN_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) or set "
                "COLORGAN_CHROMIUM; .ci/run installs it", allow_module_level=True)
pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(dev extra); its own browser download is not needed")
import httpx  # noqa: E402
from conftest import shared_data  # noqa: E402
from test_app_helpers import film_without_duration, live_server, photo_bytes  # noqa: E402
from test_video_helpers import ckpt  # noqa: E402, F401

from colorgan.app.uploads import Limits  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 640})
    yield page
    page.close()


def test_upload_a_photo_in_the_browser(page, ckpt, tmp_path):  # noqa: F811
    photo = shared_data("bw/ansel_adams.jpg")
    with Image.open(photo) as im:
        size = im.size  # (375, 331)
    model = Path(os.environ.get("COLORGAN_SCREENSHOT_CKPT", ckpt))
    with live_server(model, tmp_path) as server:
        page.goto(server.url)
        page.wait_for_selector("#temporal option", state="attached")  # /api/info answered
        page.set_input_files("#file", str(photo))
        page.click("#go")
        page.wait_for_function("document.body.dataset.result !== undefined", timeout=60_000)
        assert page.get_attribute("body", "data-result") == f"{size[0]}x{size[1]}", \
            page.inner_text("#error")
        assert page.inner_text("#error") == ""
        assert page.is_hidden("#original_fig")  # a black-and-white upload: no original panel
        href = page.get_attribute("#download", "href")
        with httpx.Client(base_url=server.url) as client:
            result = client.get(href)
        assert result.headers["content-disposition"].startswith("attachment")
        with Image.open(io.BytesIO(result.content)) as im:
            assert im.size == size and im.mode == "RGB"
            rgb = np.asarray(im, dtype=float)
        assert (rgb.max(-1) - rgb.min(-1)).mean() > 0.1  # colour was added to a gray photo
        shot = tmp_path / "serve.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if target := os.environ.get("COLORGAN_SCREENSHOT"):
            shutil.copyfile(shot, target)


def test_a_bad_upload_shows_a_message_on_the_page(page, ckpt, tmp_path):  # noqa: F811
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo at all\n" * 10)
    with live_server(ckpt, tmp_path) as server:
        page.goto(server.url)
        page.set_input_files("#file", str(bad))
        page.click("#go")
        page.wait_for_function("document.body.dataset.result === 'error'", timeout=30_000)
        assert "notes.jpg: neither an image nor a video" in page.inner_text("#error")
        assert not page.is_disabled("#go")  # the page stays usable for the next file


def test_a_film_cut_at_the_limit_says_so_on_the_page(page, ckpt, tmp_path):  # noqa: F811
    film = film_without_duration(tmp_path / "trunc.mkv", 50)  # 2 s, no duration in the header
    still = tmp_path / "still.jpg"
    still.write_bytes(photo_bytes(24, 32))
    with live_server(ckpt, tmp_path, Limits(max_film_seconds=1.0)) as server:
        page.goto(server.url)
        page.wait_for_selector("#temporal option", state="attached")
        page.set_input_files("#file", str(film))
        page.click("#go")
        page.wait_for_function("document.body.dataset.result !== undefined", timeout=60_000)
        assert page.get_attribute("body", "data-result") == "film", page.inner_text("#error")
        assert page.is_visible("#notice")
        text = page.inner_text("#notice")
        assert text.startswith("trunc.mkv: the film was cut at 1.0 s") and "colorgan colorize" in text
        page.set_input_files("#file", str(still))  # the next result has nothing to say
        page.click("#go")
        page.wait_for_function("document.body.dataset.result === '32x24'", timeout=60_000)
        assert page.is_hidden("#notice")
