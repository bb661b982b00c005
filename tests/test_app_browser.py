"""The page in a real headless browser: Debian's Chromium, driven by Playwright.

Uploads ../shared/data/bw/ansel_adams.jpg, waits for the result, checks that a colorized image
of the input's size came back (and, with a hint checkpoint, that colour points steer it as
`colorgan colorize --hints` does), and saves a screenshot (set COLORGAN_SCREENSHOT=docs/images/serve.png
to refresh the README's picture; COLORGAN_SCREENSHOT_CKPT picks a better-trained checkpoint).
"""
from __future__ import annotations

import io
import json
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
from test_app_helpers import (  # noqa: E402
    film_without_duration,
    hint_checkpoint,
    live_server,
    photo_bytes,
)
from test_video_helpers import ckpt  # noqa: E402, F401

from colorgan.app.uploads import Limits  # noqa: E402
from colorgan.cli import main  # noqa: E402


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


PAGE_PNG = """async () => {  // the result the page shows, as PNG bytes
  const r = await fetch(document.getElementById("color").src);
  return Array.from(new Uint8Array(await r.arrayBuffer()));
}"""


def show_photo(page, server, photo: Path, w: int, h: int) -> None:
    """Open the page, upload ``photo`` and wait for its w x h result."""
    page.goto(server.url)
    page.wait_for_selector("#temporal option", state="attached")
    page.set_input_files("#file", str(photo))
    page.click("#go")
    page.wait_for_function("document.body.dataset.result !== undefined", timeout=60_000)
    assert page.get_attribute("body", "data-result") == f"{w}x{h}", page.inner_text("#error")
    # the gray image laid out at its size (before it has loaded it is a 2 px line)
    page.wait_for_function("(() => { const g = document.getElementById('gray'); return "
                           "g.complete && g.getBoundingClientRect().height > 10; })()")


def _ab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> Lab a*b* (H, W, 2)."""
    import torch

    from colorgan.color import rgb_to_lab_norm
    _, ab = rgb_to_lab_norm(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255)
    return ab[0].permute(1, 2, 0).numpy() * 110


def test_colour_points_in_the_browser_match_the_command_line(page, tmp_path, tmp_path_factory):
    """Two green points on a real photo: the page's result turns green around them and
    hardly changes far away; the downloaded points give `colorgan colorize --hints` the same
    image within 1/255."""
    photo = shared_data("images/scenes/buildings/0.jpg")
    model = hint_checkpoint(tmp_path_factory.getbasetemp() / "hint_ckpts", photo.parents[1])
    with Image.open(photo) as im:
        w, h = im.size  # 150 x 150
    targets = [(40.0, 45.0), (105.0, 100.0)]  # photo pixels
    strong = "#00c000"
    with live_server(model, tmp_path) as server:
        show_photo(page, server, photo, w, h)
        assert page.is_visible("#hints_panel")
        auto = np.asarray(Image.open(io.BytesIO(bytes(page.evaluate(PAGE_PNG)))).convert("RGB"))
        page.fill("#hint_radius", "8")  # discs of 8 px: a 32 px model trained in seconds follows
        page.dispatch_event("#hint_radius", "change")  # those visibly (1/40 of the side: 4 px)
        box = page.locator("#gray").bounding_box()
        for n, (x, y) in enumerate(targets, 1):
            page.click("#gray", position={"x": (x + 0.5) / w * box["width"],
                                          "y": (y + 0.5) / h * box["height"]})
            page.wait_for_function(f"(document.body.dataset.hints || '').startsWith('{n}:')",
                                   timeout=30_000)
        placed = page.evaluate("hints.points()")
        assert np.allclose([(p["x"], p["y"]) for p in placed], targets, atol=0.6), placed
        for p in placed:  # each point starts at the model's colour there (suggested colour)
            r, g, b = auto[round(p["y"]), round(p["x"])]
            assert p["color"] == f"#{r:02x}{g:02x}{b:02x}"
        for i in range(2):
            last = page.get_attribute("body", "data-hints")
            page.locator("#hint_list input[type=color]").nth(i).fill(strong)
            page.wait_for_function(f"document.body.dataset.hints !== '{last}'", timeout=30_000)
        assert page.inner_text("#error") == ""
        shown = np.asarray(Image.open(io.BytesIO(bytes(page.evaluate(PAGE_PNG)))).convert("RGB"))
        with page.expect_download() as download:
            page.click("#hints_download")
        hints_file = tmp_path / "points.json"
        download.value.save_as(hints_file)
    points = json.loads(hints_file.read_text())
    assert [(p["color"], p["radius"]) for p in points] == [(strong, 8)] * 2

    target = _ab(np.array([[[0x00, 0xc0, 0x00]]], np.uint8))[0, 0]  # (2,)
    before, after = _ab(auto), _ab(shown)
    yy, xx = np.mgrid[0:h, 0:w]
    dist = np.min([np.hypot(xx - x, yy - y) for x, y in targets], axis=0)
    near, far = dist <= 4, dist >= 50
    gap_before = np.linalg.norm(before - target, axis=-1)[near].mean()
    gap_after = np.linalg.norm(after - target, axis=-1)[near].mean()
    moved = np.linalg.norm(after - before, axis=-1)
    assert gap_after < 0.85 * gap_before, (gap_before, gap_after)  # toward green at the points
    assert moved[far].mean() < 0.1 * moved[near].mean(), (moved[far].mean(), moved[near].mean())

    out = tmp_path / "cli.png"
    assert main(["colorize", str(photo), "-o", str(out), "--ckpt", str(model),
                 "--hints", str(hints_file)]) == 0
    cli = np.asarray(Image.open(out).convert("RGB"), dtype=int)
    assert np.abs(cli - shown.astype(int)).max() <= 1


def test_colour_points_move_and_go_and_a_bad_reference_says_why(page, tmp_path, tmp_path_factory):
    """Drag a point, remove points by right-click and by the list's x, and upload a black-and-
    white reference: each change refreshes the result, the refusal is shown on the page."""
    model = hint_checkpoint(tmp_path_factory.getbasetemp() / "hint_ckpts")
    photo, gray_ref = tmp_path / "p.png", tmp_path / "bw.png"
    photo.write_bytes(photo_bytes(60, 80, seed=5, fmt="PNG"))
    gray_ref.write_bytes(photo_bytes(30, 30, seed=6, fmt="PNG"))
    with live_server(model, tmp_path) as server:
        show_photo(page, server, photo, 80, 60)
        box = page.locator("#gray").bounding_box()
        at = lambda x, y: {"x": (x + 0.5) / 80 * box["width"], "y": (y + 0.5) / 60 * box["height"]}  # noqa: E731
        for n, (x, y) in enumerate([(10, 10), (60, 40)], 1):
            page.click("#gray", position=at(x, y))
            page.wait_for_function(f"(document.body.dataset.hints || '').startsWith('{n}:')")
        marker = page.locator(".marker").first.bounding_box()
        page.mouse.move(marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
        page.mouse.down()
        rect = "(() => { const b = document.getElementById('gray').getBoundingClientRect(); " \
               "return {x: b.left, y: b.top, width: b.width, height: b.height}; })()"
        for _ in range(6):  # aim at the photo's pixel (30, 20) where the image is now
            now = page.evaluate(rect)  # (a result that loads can move the layout)
            page.mouse.move(now["x"] + 30.5 / 80 * now["width"], now["y"] + 20.5 / 60 * now["height"])
        page.mouse.up()
        # the point ends where it was dropped (refreshes during the drag may land first)
        page.wait_for_function("(() => { const p = hints.points()[0]; return p && "
                               "Math.abs(p.x - 30) <= 1 && Math.abs(p.y - 20) <= 1; })()",
                               timeout=10000)
        page.click(".marker >> nth=1", button="right")  # right-click removes it
        page.wait_for_function("(document.body.dataset.hints || '').startsWith('1:')")
        page.click("#hint_list button")  # and the list's x
        page.wait_for_function("(document.body.dataset.hints || '').startsWith('0:')")
        assert page.evaluate("hints.points()") == [] and page.locator(".marker").count() == 0
        page.set_input_files("#reference", str(gray_ref))
        page.wait_for_function("document.body.dataset.hints === 'error'")
        assert "bw.png: is black and white" in page.inner_text("#error")
        assert page.is_disabled("#use_reference")


def test_a_film_with_a_reference_image_for_its_first_shot(page, ckpt, tmp_path):  # noqa: F811
    """Choose a film and a reference image: a gray reference is refused on the page, a colour
    one gives the film, coloured from it (the server tests measure the colour)."""
    from test_app_film_reference import gray_film, png, vivid

    film = gray_film(tmp_path / "gray.mp4")
    good, gray = tmp_path / "colorist.png", tmp_path / "bw.png"
    good.write_bytes(png(vivid()))
    gray.write_bytes(png(np.repeat(vivid()[..., :1], 3, -1)))
    with live_server(ckpt, tmp_path) as server:
        page.goto(server.url)
        page.wait_for_selector("#temporal option", state="attached")
        assert page.is_visible("#film_reference")
        page.set_input_files("#file", str(film))
        page.set_input_files("#film_reference", str(gray))
        page.click("#go")
        page.wait_for_function("document.body.dataset.result === 'error'", timeout=30_000)
        assert "bw.png: is black and white" in page.inner_text("#error")
        page.set_input_files("#film_reference", str(good))
        page.click("#go")
        page.wait_for_function("document.body.dataset.result !== undefined", timeout=60_000)
        assert page.get_attribute("body", "data-result") == "film", page.inner_text("#error")
        assert "first shot coloured from colorist.png" in page.inner_text("#status")
