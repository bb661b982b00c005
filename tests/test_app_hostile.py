"""The web server cannot be held (round three of hostile inputs): uploads that are neither a photo
nor a film, clients that stall, trickle or go away mid-body, and results the page must explain
(a film cut at the length limit, an animation of which one frame is colorized).

Slow clients are raw sockets on 127.0.0.1, bounded in number and time: each test server has a
1-3 s --upload-timeout and every socket is closed by the test."""
from __future__ import annotations

import io
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import httpx  # noqa: E402
from test_app_helpers import (  # noqa: E402
    film_without_duration,
    live_server,
    photo_bytes,
    post,
    raw_upload,
)
from test_video_helpers import ckpt, make_video, mp3_with_cover_art, scene_frames  # noqa: E402, F401

from colorgan.app.uploads import Limits, UploadError, identify  # noqa: E402

LIMITS = Limits(max_upload_mb=0.5, max_film_seconds=1.0, max_pixels=1_000_000,
                upload_timeout=1.0, max_upload_seconds=3.0)
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server(ckpt, tmp_path_factory):  # noqa: F811
    """One server (1 s --upload-timeout, 3 s --max-upload-seconds) and one client for the module."""
    with live_server(ckpt, tmp_path_factory.mktemp("serve"), LIMITS) as s, \
            httpx.Client(base_url=s.url, timeout=30) as s.client:
        yield s


@pytest.fixture
def client(server) -> httpx.Client:
    return server.client


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
       b'<rect width="40" height="30" fill="gray"/></svg>\n')  # FFmpeg finds a picture, no decoder
NOT_MEDIA = [  # (what, bytes, name, words the message must contain)
    ("SVG", SVG, "drawing.svg", "vector drawing"),
    ("SVG with an XML header, named .jpg", b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG,
     "photo.jpg", "vector drawing"),
    ("PDF header", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "scan.pdf",
     "neither an image nor"),
    ("EPS (PIL needs Ghostscript)", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 30\n"
     b"newpath 0 0 moveto 40 30 lineto stroke showpage\n%%EOF\n", "figure.eps", "EPS"),
    ("HTML", b"<!doctype html><html><body><img src=x.jpg></body></html>\n", "page.html",
     "neither an image nor"),
    ("text named .jpg", b"not a photo at all\n" * 30, "photo.jpg", "neither an image nor"),
    ("random bytes", np.random.default_rng(1).bytes(3000), "film.mp4", "neither an image nor"),
    ("zero bytes", b"", "empty.png", "the file is empty (0 bytes)"),
    ("audio with cover art", mp3_with_cover_art(), "song.mp3", "only picture is cover art"),
]


@pytest.mark.parametrize("what,data,name,words", NOT_MEDIA, ids=[c[0] for c in NOT_MEDIA])
def test_not_a_photo_or_film_is_415(server, client, what, data, name, words):
    before = set(server.root.iterdir())
    r = post(client, data, name)
    assert r.status_code == 415, r.text
    assert r.json()["error"].startswith(f"{name}: ") and words in r.json()["error"], r.json()
    assert set(server.root.iterdir()) == before, "a refused upload left files behind"


@pytest.mark.parametrize("where", ["PIL", "FFmpeg"])
def test_a_decoder_exception_is_a_415_message(tmp_path, monkeypatch, where):
    """Whatever a decoder raises on a file (here an injected bug), the answer is 415, not 500."""
    path = tmp_path / "upload"
    path.write_bytes(photo_bytes(20, 20))

    def broken(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'width'")

    if where == "PIL":
        monkeypatch.setattr("colorgan.app.uploads.Image.open", broken)
    else:
        path.write_bytes(b"\x1aE\xdf\xa3" + bytes(200))  # not a photo: reaches FFmpeg
        monkeypatch.setattr("colorgan.app.uploads.av.open", broken)
    with pytest.raises(UploadError) as e:
        identify(path, "x.jpg", LIMITS)
    assert e.value.status == 415 and str(e.value).startswith("x.jpg: neither an image nor")


def test_bad_query_value_is_a_json_message(client):
    r = post(client, photo_bytes(20, 20), "x.jpg", chroma="lots")
    assert r.status_code == 400 and r.json()["error"].startswith("chroma='lots': ")


def _stall(url: str, i: int, sent: bytes = b"\xff", declared: int = 1000) -> tuple[int, float, str]:
    return raw_upload(url, f"slow{i}.jpg", sent, declared, hold=8.0)


def test_stalled_clients_do_not_lock_real_uploads_out(ckpt, tmp_path):  # noqa: F811
    """Ten clients send one byte of a 1000-byte body and wait, with 8 slots for arriving
    uploads: a real upload still gets in (it takes the longest-idle slot) and each stalled one
    is answered (408, or 503 for the two that found no slot) within the 3 s --upload-timeout."""
    limits = Limits(upload_timeout=3.0, max_upload_seconds=10.0)
    with live_server(ckpt, tmp_path, limits, arriving=8) as s, \
            ThreadPoolExecutor(10) as pool, httpx.Client(base_url=s.url, timeout=30) as c:
        t0 = time.monotonic()
        stalled = [pool.submit(_stall, s.url, i) for i in range(10)]
        time.sleep(0.8)  # all ten hold their sockets, idle for longer than a slot may be
        r = post(c, photo_bytes(30, 40), "real.jpg")
        assert r.status_code == 200, r.text
        assert time.monotonic() - t0 < 2.9, "the real upload waited for the stalled ones"
        answers = [f.result() for f in stalled]
        assert all(seconds < 5.0 for _, seconds, _ in answers), answers  # 3 s + margin
        codes = sorted(code for code, _, _ in answers)
        assert codes == [408] * 8 + [503] * 2, answers
        for code, _, body in answers:
            assert ("stalled after 1 of the 1000 declared bytes" if code == 408
                    else "receiving 8 other uploads") in body, body
        assert post(c, photo_bytes(30, 40), "after.jpg").status_code == 200
        assert len(list(s.root.iterdir())) == 2, "stalled uploads left folders behind"


def test_eight_stalled_clients_leave_room_for_work(server, client):
    """The issue's case: 8 stalled bodies no longer count as busy jobs (the default 32 slots)."""
    with ThreadPoolExecutor(8) as pool:
        stalled = [pool.submit(_stall, server.url, i) for i in range(8)]
        time.sleep(0.3)
        assert post(client, photo_bytes(24, 24), "real.jpg").status_code == 200
        answers = [f.result() for f in stalled]
    assert [code for code, _, _ in answers] == [408] * 8
    assert all(seconds < 3.0 for _, seconds, _ in answers), answers  # 1 s timeout + margin


def test_body_shorter_than_its_length_is_answered_within_the_timeout(server):
    """The client sends 100 of 5000 declared bytes and waits: 408 after ~1 s, not never."""
    code, seconds, body = raw_upload(server.url, "short.jpg", photo_bytes(40, 40)[:100], 5000,
                                     hold=8.0)
    assert code == 408 and seconds < 3.0, (code, seconds, body)
    assert "short.jpg: the upload stalled after 100 of the 5000 declared bytes" in body
    assert "--upload-timeout" in body


HALF_REQUESTS = {"half a request line": b"POST /api/colo",
                 "headers without their blank line": b"POST /api/colorize?name=h.jpg HTTP/1.1\r\n"
                                                     b"Host: x\r\nContent-Length: 10\r\n",
                 "nothing at all": b""}


@pytest.mark.parametrize("raw", HALF_REQUESTS.values(), ids=HALF_REQUESTS.keys())
def test_unfinished_request_headers_are_answered_within_the_timeout(server, client, caplog, raw):
    """uvicorn alone would wait for the headers as long as the socket stays open."""
    caplog.set_level(logging.INFO)
    with ThreadPoolExecutor(4) as pool:
        held = [pool.submit(raw_upload, server.url, "", b"", 0, 8.0, raw=raw) for _ in range(4)]
        time.sleep(0.2)
        assert post(client, photo_bytes(20, 20), "real.jpg").status_code == 200
        answers = [f.result() for f in held]
    for code, seconds, body in answers:
        assert code == 408 and 0.8 < seconds < 3.0, answers
        assert "did not arrive within 1 s (--upload-timeout)" in body
    lines = [r.getMessage() for r in caplog.records if "complete request headers" in r.getMessage()]
    assert len(lines) == (4 if raw else 0), lines  # a silent idle socket is not worth a line
    assert f"sent {len(raw)} bytes" in (lines or [f"sent {len(raw)} bytes"])[0]


def test_the_next_request_on_a_connection_has_its_own_deadline(server):
    """A keep-alive connection: one request answered, then half of the next one and a wait."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\nGET /api/in")
        data = b""
        while chunk := s.recv(65536):  # until the server closes
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.1 408 Request Timeout" in data, data
    assert time.monotonic() - t0 < 3.0


def test_trickling_client_is_stopped_by_the_total_bound(server):
    """A byte every 0.4 s never trips the 1 s idle timeout; the 3 s --max-upload-seconds does."""
    code, seconds, body = raw_upload(server.url, "drip.jpg", b"\xff", 10_000, hold=10.0,
                                     trickle=0.4)
    assert code == 408 and 2.5 < seconds < 5.0, (code, seconds, body)
    assert "took longer than 3 s (--max-upload-seconds)" in body


def test_aborted_upload_is_one_log_line(server, client, caplog):
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)  # uvicorn's loggers do not propagate to the root
    try:
        before = set(server.root.iterdir())
        raw_upload(server.url, "gone.jpg", b"\xff" * 300, 5000, hold=0.0)  # sends, then closes
        deadline = time.monotonic() + 5
        while "aborted" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        after = set(server.root.iterdir())
        assert post(client, photo_bytes(20, 20), "next.jpg").status_code == 200
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if "gone.jpg" in r.getMessage()]
    assert len(lines) == 1 and "aborted by the client after 300 of the 5000 declared bytes" \
        in lines[0], caplog.text
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert after == before, "the aborted upload left its folder behind"


def _raise(error: BaseException):
    def broken(*args, **kwargs):
        raise error
    return broken


@pytest.mark.parametrize("where,error,status,words", [
    ("identify", OSError(28, "No space left on device"), 507,
     "could not store the upload (No space left on device)"),
    ("identify", KeyError("bug"), 500, "the server failed on this upload (KeyError)"),
    ("colorize_photo", ZeroDivisionError("bug"), 422, "colorization failed (ZeroDivisionError"),
], ids=["full disk", "bug while identifying", "bug while colorizing"])
def test_server_faults_are_a_message_and_one_log_line(server, client, caplog, monkeypatch, where,
                                                      error, status, words):
    caplog.set_level(logging.INFO)
    before = set(server.root.iterdir())
    monkeypatch.setattr(f"colorgan.app.server.{where}", _raise(error))
    r = post(client, photo_bytes(20, 20), "fault.jpg")
    assert r.status_code == status and words in r.json()["error"], r.text
    lines = [r.getMessage() for r in caplog.records if r.name == "colorgan.app"]
    assert len(lines) == 1 and type(error).__name__ in lines[0] and "hostile.py:" in lines[0], lines
    assert not any(r.exc_info for r in caplog.records)
    assert set(server.root.iterdir()) == before
    monkeypatch.undo()
    assert post(client, photo_bytes(20, 20), "next.jpg").status_code == 200


def _finish(client: httpx.Client, job: dict) -> dict:
    deadline = time.monotonic() + 40
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_film_cut_at_the_length_limit_says_so(client, tmp_path):
    src = film_without_duration(tmp_path / "trunc.mkv", 50)  # 2 s, the page's limit is 1 s
    with av.open(str(src)) as c:
        assert c.duration is None  # the length limit cannot refuse it up front
    r = post(client, src.read_bytes(), "trunc.mkv")
    assert r.status_code == 202, r.text
    job = _finish(client, r.json())
    assert job["state"] == "done" and job["done"] == 25, job
    assert job["notice"].startswith("trunc.mkv: the film was cut at 1.0 s (25 frames)"), job
    assert "colorgan colorize" in job["notice"] and "--max-film-seconds" in job["notice"]
    assert "cut at 1.0 s" in job["message"]
    whole = film_without_duration(tmp_path / "short.mkv", 20)  # 0.8 s: nothing to say
    job = _finish(client, post(client, whole.read_bytes(), "short.mkv").json())
    assert job["state"] == "done" and job["done"] == 20 and job["notice"] == "", job


def test_truncated_film_says_what_was_not_colorized(client, tmp_path):
    """A 1 s Matroska film cut at 3/4 of its bytes: its header still says 1 s (25 frames)."""
    whole = make_video(tmp_path / "whole.mkv", scene_frames(25, 4), rate=25).read_bytes()
    r = post(client, whole[:len(whole) * 3 // 4], "half.mkv")
    assert r.status_code == 202, r.text
    job = _finish(client, r.json())
    assert job["state"] == "done" and 0 < job["done"] < 23, job
    assert job["notice"].startswith(f"half.mkv: only {job['done']} of its 25 frames could be "
                                    "decoded"), job
    assert "the rest was not colorized" in job["notice"]
    job = _finish(client, post(client, whole, "whole.mkv").json())
    assert job["state"] == "done" and job["done"] == 25 and job["notice"] == "", job


def test_animation_says_only_its_first_frame_was_colorized(client):
    frames = [Image.new("L", (32, 24), 40 * i) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    job = post(client, buf.getvalue(), "wave.gif").json()
    assert job["state"] == "done" and "holds 4 frames" in job["notice"], job
    assert "only the first was colorized" in job["notice"]
    still = post(client, photo_bytes(24, 32), "still.jpg").json()
    assert still["notice"] == ""


def test_page_shows_the_notice(client):
    page = client.get("/").text
    assert 'id="notice"' in page and "notice(job.notice)" in page


def test_upload_timeout_options(ckpt, tmp_path, capsys):  # noqa: F811
    from colorgan.app.cli import parser
    from colorgan.cli import main
    a = parser().parse_args(["--ckpt", "x"])
    assert (a.upload_timeout, a.max_upload_seconds) == (10.0, 600.0)
    for opt in ("--upload-timeout", "--max-upload-seconds"):
        assert main(["serve", "--ckpt", str(ckpt), opt, "0"]) == 1
        assert f"{opt} 0.0: must be positive" in capsys.readouterr().err

