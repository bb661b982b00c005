"""Colour points on the web page, through its API (no browser): a photo recolorized with hints
and a reference without a second upload, the same pixels as Colorizer.colorize with those hints,
and every bad hint request answered with parse_hints' message while the server keeps serving."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import httpx  # noqa: E402
from test_app_helpers import hint_checkpoint, live_server, photo_bytes, post  # noqa: E402
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: E402, F401

from colorgan.app.uploads import Limits  # noqa: E402
from colorgan.colorize.colorizer import Colorizer  # noqa: E402
from colorgan.hints.user import MAX_POINTS, parse_hints, reference_palette  # noqa: E402

LIMITS = Limits(max_upload_mb=0.5, max_pixels=1_000_000, upload_timeout=2.0)
H, W = 40, 56  # the test photo


@pytest.fixture(scope="module")
def hints_ckpt(tmp_path_factory):
    return hint_checkpoint(tmp_path_factory.getbasetemp() / "hint_ckpts")


@pytest.fixture(scope="module")
def server(hints_ckpt, tmp_path_factory):
    with live_server(hints_ckpt, tmp_path_factory.mktemp("serve"), LIMITS) as s, \
            httpx.Client(base_url=s.url, timeout=60) as s.client:
        yield s


@pytest.fixture(scope="module")
def photo(server) -> tuple[bytes, dict]:
    """A gray photo uploaded once: its bytes and its job."""
    data = photo_bytes(H, W, seed=4, mode="L", fmt="PNG")
    r = post(server.client, data, "street.png")
    assert r.status_code == 200, r.text
    return data, r.json()


def refresh(client, job: dict, points, **params) -> httpx.Response:
    body = points if isinstance(points, (bytes, str)) else json.dumps(points)
    return client.post(f"/api/jobs/{job['id']}/hints", params=params, content=body,
                       headers={"content-type": "application/json"})


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_info_says_whether_the_checkpoint_takes_hints(server, ckpt, tmp_path):  # noqa: F811
    info = server.client.get("/api/info").json()
    assert info["hints"] is True and info["max_hint_points"] == MAX_POINTS
    assert 'src="/static/hints.js"' in server.client.get("/").text
    script = server.client.get("/static/hints.js")
    assert script.status_code == 200 and "/hints?" in script.text
    with live_server(ckpt, tmp_path, LIMITS) as plain, \
            httpx.Client(base_url=plain.url, timeout=60) as c:
        assert c.get("/api/info").json()["hints"] is False
        job = post(c, photo_bytes(24, 32)).json()
        r = refresh(c, job, [])
        assert r.status_code == 400 and "trained without hints" in r.json()["error"]


def test_points_recolorize_without_a_new_upload_as_colorize_does(server, photo, hints_ckpt):
    data, job = photo
    before = set(server.root.iterdir())
    auto = server.client.get(job["files"]["color"]).content
    none = refresh(server.client, job, [])
    assert none.status_code == 200 and none.headers["content-type"] == "image/png"
    assert np.array_equal(pixels(none.content), pixels(auto))  # no points: the automatic result
    points = [{"x": 10, "y": 12, "color": "#e01010", "radius": 4},
              {"fx": 0.8, "fy": 0.5, "color": "#1030e0"}]
    r = refresh(server.client, job, points)
    assert r.status_code == 200, r.text
    got = pixels(r.content)
    assert got.shape == (H, W, 3) and not np.array_equal(got, pixels(auto))
    colorizer = Colorizer.from_checkpoint(hints_ckpt, "cpu")  # the command line's call
    rgb = torch.from_numpy(pixels(data).copy()).permute(2, 0, 1)[None]
    want = colorizer.colorize(rgb, hints=parse_hints(points, "x", W, H))[0].permute(1, 2, 0)
    assert np.array_equal(got, want.numpy())
    assert set(server.root.iterdir()) == before  # nothing uploaded or written again


def test_a_reference_photo_steers_the_refresh(server, photo, hints_ckpt):
    data, job = photo
    ref = photo_bytes(48, 48, seed=7, mode="RGB", fmt="PNG")
    r = server.client.post(f"/api/jobs/{job['id']}/reference", params={"name": "beach.png"},
                           content=ref)
    assert r.status_code == 200 and r.json()["reference"] == "beach.png", r.text
    got = refresh(server.client, job, [], reference="true")
    assert got.status_code == 200, got.text
    colorizer = Colorizer.from_checkpoint(hints_ckpt, "cpu")
    palette = reference_palette(torch.from_numpy(pixels(ref).copy()).permute(2, 0, 1), "ref")
    rgb = torch.from_numpy(pixels(data).copy()).permute(2, 0, 1)[None]
    want = colorizer.colorize(rgb, palette=palette)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(pixels(got.content), want)
    gray = server.client.post(f"/api/jobs/{job['id']}/reference", params={"name": "bw.jpg"},
                              content=photo_bytes(32, 32, mode="L"))
    assert gray.status_code == 422 and "bw.jpg: is black and white" in gray.json()["error"]
    text = server.client.post(f"/api/jobs/{job['id']}/reference", params={"name": "n.jpg"},
                              content=b"not a photo\n" * 20)
    assert text.status_code == 415 and "n.jpg: neither an image nor" in text.json()["error"]
    assert server.client.get(f"/api/jobs/{job['id']}").json()["reference"] == "beach.png"


BAD = [  # (what, body, params, HTTP code, words the message must contain)
    ("not JSON", b'[{"x": 1, "y": 2, "color": "#ff0000"', {}, 400, "the request is not JSON"),
    ("not UTF-8", b"\xff\xfe[]", {}, 400, "not UTF-8 text"),
    ("not a list", {"x": 1, "y": 2}, {}, 400, "hints: is not a list of points"),
    ("too many points", [{"x": 1, "y": 1, "color": "#ff0000"}] * (MAX_POINTS + 1), {}, 400,
     f"{MAX_POINTS + 1} points; at most {MAX_POINTS}"),
    ("outside the image", [{"x": W, "y": 2, "color": "#ff0000"}], {}, 400,
     f"hints, point 1: \"x\": {W}, \"y\": 2 is outside the {W} x {H} image"),
    ("bad colour", [{"x": 1, "y": 2, "color": "#ff0000"}, {"x": 1, "y": 2, "color": "red"}],
     {}, 400, "hints, point 2: \"color\": \"red\" is not #rrggbb"),
    ("unknown field", [{"x": 1, "y": 2, "color": "#ff0000", "size": 3}], {}, 400,
     "unknown field(s) ['size']"),
    ("a body past the cap", b"[" + b" " * (1 << 20) + b"]", {}, 413, "more than 1,048,576 bytes"),
    ("colour strength out of range", [], {"chroma": 7}, 400, "chroma=7"),
    ("reference never uploaded", [], {"reference": "true"}, 409, "no reference photo"),
]


@pytest.mark.parametrize("what,body,params,status,words", BAD, ids=[b[0] for b in BAD])
def test_bad_hints_get_a_message_and_the_server_keeps_serving(server, what, body, params, status,
                                                             words):
    fresh = post(server.client, photo_bytes(H, W, seed=4, mode="L", fmt="PNG")).json()
    r = refresh(server.client, fresh, body, **params)
    assert r.status_code == status, r.text
    assert words in r.json()["error"], r.json()
    ok = refresh(server.client, fresh, [{"x": 3, "y": 3, "color": "#00ff00"}])
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"


def test_hints_for_an_unknown_job_or_a_film(server, tmp_path):
    r = refresh(server.client, {"id": "nope"}, [])
    assert r.status_code == 404 and "unknown or expired" in r.json()["error"]
    film = make_video(tmp_path / "clip.mp4", scene_frames(10, 1), rate=25)
    job = post(server.client, film.read_bytes(), "clip.mp4").json()
    assert job["kind"] == "film"
    r = refresh(server.client, job, [])
    assert r.status_code == 409 and "colour points need a colorized photo" in r.json()["error"]
