"""The web page's API over real HTTP: good photos and films, every bad upload we could think of,
several uploads at once, and the temporary folder's clean-up."""
from __future__ import annotations

import io
import time
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import httpx  # noqa: E402
from test_app_helpers import live_server, photo_bytes, png_size, post  # noqa: E402
from test_video_helpers import (  # noqa: E402, F401
    ckpt,
    ckpt_classify,
    make_video,
    scene_frames,
    video_stats,
)

from colorgan.app.uploads import Limits  # noqa: E402
from colorgan.app.work import gray_of  # noqa: E402
from colorgan.cli import COMMANDS, main  # noqa: E402

LIMITS = Limits(max_upload_mb=0.5, max_film_seconds=1.0, max_pixels=1_000_000)


def wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    return buf.getvalue()


def flat_png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), 128).save(buf, format="PNG")  # a few KB: under the byte limit
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(ckpt, tmp_path_factory):  # noqa: F811
    with live_server(ckpt, tmp_path_factory.mktemp("serve"), LIMITS) as s:
        yield s


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_page_and_info(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="file"' in page.text and 'id="go"' in page.text
    info = client.get("/api/info").json()
    assert info["modes"] == ["independent", "smooth"]  # not "dependent": a 1-channel generator
    assert info["max_upload_mb"] == 0.5 and info["max_film_seconds"] == 1.0
    assert info["temperature"] is None  # a model that predicts ab directly: no slider


def test_temperature_slider_of_a_classification_model(ckpt_classify, tmp_path):  # noqa: F811
    with live_server(ckpt_classify, tmp_path, LIMITS) as s, \
            httpx.Client(base_url=s.url, timeout=60) as c:
        assert c.get("/api/info").json()["temperature"] == pytest.approx(0.38)
        data = photo_bytes(40, 56, seed=2, mode="L")
        with ThreadPoolExecutor(2) as pool:  # two settings at once: neither leaks into the other
            jobs = list(pool.map(lambda t: post(c, data, temperature=t).json(), (1.0, 0.05)))
        dull, vivid = (c.get(j["files"]["color"]).content for j in jobs)
        assert dull != vivid
        again = post(c, data, temperature=1.0).json()
        assert c.get(again["files"]["color"]).content == dull
        assert c.get("/api/info").json()["temperature"] == pytest.approx(0.38)


def test_gray_photo_comes_back_colorized_at_full_size(client):
    r = post(client, photo_bytes(77, 101, mode="L"), "old photo.jpg")
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "done" and (job["width"], job["height"]) == (101, 77)
    assert set(job["files"]) == {"gray", "color"}  # a gray upload has no "original" panel
    color = client.get(job["files"]["color"])
    assert color.headers["content-type"] == "image/png" and png_size(color.content) == (101, 77)
    down = client.get(job["files"]["color"], params={"download": 1})
    assert down.content == color.content
    assert down.headers["content-disposition"].startswith("attachment")
    assert "old%20photo_color.png" in down.headers["content-disposition"]


def test_colour_photo_shows_the_original_and_chroma_slider_works(client):
    data = photo_bytes(40, 60, seed=3, mode="RGB", fmt="PNG")
    jobs = {c: post(client, data, "c.png", chroma=c).json() for c in (0.0, 1.0, 2.0)}
    assert set(jobs[1.0]["files"]) == {"gray", "color", "original"}
    original = np.asarray(Image.open(io.BytesIO(client.get(jobs[1.0]["files"]["original"]).content)))
    assert np.array_equal(original, np.asarray(Image.open(io.BytesIO(data))))
    spread = {}
    for c, job in jobs.items():
        rgb = np.asarray(Image.open(io.BytesIO(client.get(job["files"]["color"]).content)), float)
        spread[c] = (rgb.max(-1) - rgb.min(-1)).mean()  # how far from gray
    assert spread[0.0] < 0.05 < spread[1.0] and spread[2.0] > 1.5 * spread[1.0], spread


BAD_UPLOADS = [  # (what, bytes, params, HTTP code, words the message must contain)
    ("zero bytes", b"", {}, 415, "empty (0 bytes)"),
    ("text file named .jpg", b"hello, this is not a photo\n" * 20, {}, 415, "neither an image nor"),
    ("truncated JPEG", photo_bytes(200, 200, fmt="JPEG")[:1500], {}, 422, "truncated or damaged"),
    ("truncated PNG", photo_bytes(64, 64, fmt="PNG")[:300], {}, 422, "truncated or damaged"),
    ("random bytes", np.random.default_rng(0).bytes(5000), {}, 415, "neither an image nor"),
    ("too large file", b"\xff" * 600_000, {}, 413, "0.5 MB upload limit"),
    ("too many pixels", flat_png(1000, 1100), {}, 413, "1000x1100 is 1.1 megapixels"),
    ("audio only", wav_bytes(), {}, 415, "no video stream"),
    ("colour strength out of range", photo_bytes(32, 32), {"chroma": 5}, 400, "chroma=5"),
    ("film mode the model lacks", photo_bytes(32, 32), {"temporal": "dependent"}, 400,
     "accepts ['independent', 'smooth']"),
    ("temperature on a model without colour bins", photo_bytes(32, 32), {"temperature": 0.5},
     400, "model.classification.enabled=true"),
]


@pytest.mark.parametrize("what,data,params,status,words", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_upload_gets_a_message_and_the_server_keeps_serving(server, client, what, data, params,
                                                                status, words):
    before = set(server.root.iterdir())
    r = post(client, data, "upload.jpg", **params)
    assert r.status_code == status, r.text
    assert words in r.json()["error"], r.json()
    assert set(server.root.iterdir()) == before, "a refused upload left files behind"
    assert post(client, photo_bytes(24, 30)).status_code == 200  # the next request is served


def test_too_large_upload_without_length_is_stopped_while_streaming(server, client):
    before = set(server.root.iterdir())
    chunks = (b"\0" * 65536 for _ in range(100))  # 6.5 MB, chunked: no Content-Length
    r = client.post("/api/colorize", params={"name": "big.bin"}, content=chunks)
    assert r.status_code == 413 and "0.5 MB upload limit" in r.json()["error"]
    assert set(server.root.iterdir()) == before


def test_too_long_film_is_refused(server, client, tmp_path):
    film = make_video(tmp_path / "long.mp4", scene_frames(40, 1), rate=25)  # 1.6 s > 1 s
    r = post(client, film.read_bytes(), "long.mp4")
    assert r.status_code == 413 and "1.6 s long; the limit is 1 s" in r.json()["error"]


def test_film_is_colorized_with_progress_and_audio(client, tmp_path):
    film = make_video(tmp_path / "clip.mp4", scene_frames(20, 2), rate=25, audio=True)
    r = post(client, film.read_bytes(), "clip.mp4", temporal="smooth", strength=0.5)
    assert r.status_code == 202, r.text
    job, seen = r.json(), set()
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        seen.add(job["done"])
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 20 and "20 frames" in job["message"]
    out = tmp_path / "out.mp4"
    out.write_bytes(client.get(job["files"]["film"], params={"download": 1}).content)
    stats = video_stats(out)
    assert stats["frames"] == 20 and stats["size"] == (64, 48) and stats["audio_packets"] > 0


def test_concurrent_uploads_do_not_mix(client):
    sizes = [(30 + 7 * i, 50 + 11 * i) for i in range(6)]  # (h, w), all different
    uploads = [photo_bytes(h, w, seed=i) for i, (h, w) in enumerate(sizes)]

    def one(i: int) -> tuple[int, dict, bytes]:
        with httpx.Client(base_url=client.base_url, timeout=60) as c:
            job = post(c, uploads[i], f"p{i}.jpg").json()
            return i, job, c.get(job["files"]["gray"]).content

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert len({job["id"] for _, job, _ in results}) == 6
    for i, job, gray_png in results:
        h, w = sizes[i]
        assert (job["width"], job["height"]) == (w, h)
        src = np.array(Image.open(io.BytesIO(uploads[i])).convert("RGB"))
        want = gray_of(torch.from_numpy(src).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        got = np.asarray(Image.open(io.BytesIO(gray_png)))
        assert np.abs(got.astype(int) - want).max() <= 1  # this upload's own picture


def test_finished_jobs_expire_and_the_temp_folder_is_removed(ckpt, tmp_path):  # noqa: F811
    with live_server(ckpt, tmp_path, LIMITS, keep_seconds=0.0) as s:
        root = s.root
        with httpx.Client(base_url=s.url, timeout=60) as c:
            first = post(c, photo_bytes(20, 20)).json()
            assert post(c, photo_bytes(20, 20)).status_code == 200  # expires the first
            r = c.get(first["files"]["color"])
            assert r.status_code == 404 and "unknown or expired" in r.json()["error"]
            assert len(list(root.iterdir())) == 1
            assert c.get("/api/jobs/nope/color.png").status_code == 404
    assert not root.exists()


def test_serve_command(ckpt, tmp_path, capsys):  # noqa: F811
    assert "serve" in COMMANDS
    from colorgan.app.cli import parser
    assert parser().parse_args(["--ckpt", "x"]).host == "127.0.0.1"
    assert main(["serve", "--ckpt", str(tmp_path / "missing.ckpt")]) == 1
    assert "missing.ckpt: no such file" in capsys.readouterr().err
    assert main(["serve", "--ckpt", str(ckpt), "--max-upload-mb", "0"]) == 1
    assert "--max-upload-mb 0.0: must be positive" in capsys.readouterr().err
