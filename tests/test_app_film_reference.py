"""The web page's reference image for a film's first shot, over real HTTP: the colour it carries,
every refused reference (with its message), and no folder left behind."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import httpx  # noqa: E402
from test_app_helpers import live_server, photo_bytes, post  # noqa: E402
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: E402, F401

from colorgan.app import film_reference  # noqa: E402
from colorgan.app.uploads import Limits  # noqa: E402
from colorgan.app.work import gray_of  # noqa: E402
from colorgan.colorize.photos import read_image  # noqa: E402

LIMITS = Limits(max_upload_mb=0.5, max_film_seconds=2.0, max_pixels=1_000_000)
H, W = 48, 64


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def vivid(h: int = H, w: int = W) -> np.ndarray:
    """A strongly coloured scene (H, W, 3) uint8: the colorist's first frame."""
    frame = scene_frames(1, 4, h, w)[0].astype(np.float32)
    mean = frame.mean(-1, keepdims=True)
    return np.clip(mean + 2.5 * (frame - mean), 0, 255).astype(np.uint8)  # saturated


def gray_film(path, frames: int = 12):
    """A static gray film of the vivid scene's lightness (what the colorist started from)."""
    ref = torch.from_numpy(vivid()).permute(2, 0, 1)[None]  # (1, 3, H, W)
    gray = gray_of(ref)[0].permute(1, 2, 0).numpy()  # (H, W, 3), R = G = B
    return make_video(path, [gray] * frames, rate=25)


@pytest.fixture(scope="module")
def server(ckpt, tmp_path_factory):  # noqa: F811
    with live_server(ckpt, tmp_path_factory.mktemp("serve"), LIMITS) as s:
        yield s


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def folders(server) -> set[str]:
    return {p.name for p in server.root.iterdir()}


def send_reference(client, data: bytes, name: str = "ref.png"):
    return client.post("/api/film-reference", params={"name": name}, content=data)


def wait(client, job: dict) -> dict:
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_the_page_offers_the_reference_input(client):
    page = client.get("/")
    assert 'id="film_reference"' in page.text and "reference image for the first shot" in page.text
    assert client.get("/api/info").json()["film_reference"] is True


BAD_REFERENCES = [  # (what, bytes, HTTP code, words the message must contain)
    ("not an image", b"hello, not a picture\n" * 20, 415, "neither an image nor"),
    ("a gray image", png(np.repeat(scene_frames(1, 2)[0][..., :1], 3, -1)), 422,
     "ref.png: is black and white (mean chroma 0.0"),
    ("too large", b"\xff" * 600_000, 413, "0.5 MB upload limit"),
]


@pytest.mark.parametrize("what,data,status,words", BAD_REFERENCES, ids=[b[0] for b in BAD_REFERENCES])
def test_bad_reference_is_refused_with_a_message(server, client, what, data, status, words):
    before = folders(server)
    r = send_reference(client, data)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert folders(server) == before  # nothing half-written is kept
    assert client.get("/api/info").status_code == 200  # the server keeps serving


def test_a_film_as_reference_is_refused(server, client, tmp_path):
    before = folders(server)
    film = make_video(tmp_path / "f.mp4", scene_frames(5, 1), rate=25)
    r = send_reference(client, film.read_bytes(), "f.mp4")
    assert r.status_code == 415 and "f.mp4: the reference for the first shot must be a colour " \
        "image" in r.json()["error"]
    assert folders(server) == before


def test_wrong_aspect_ratio_refuses_film_and_reference(server, client, tmp_path):
    before = folders(server)
    ref = send_reference(client, png(vivid(48, 48)), "square.png").json()
    r = post(client, gray_film(tmp_path / "g.mp4").read_bytes(), "g.mp4", reference_frame=ref["id"])
    assert r.status_code == 422, r.text
    assert ("square.png: is 48x48 (aspect ratio 1.000), the film is 64x48 (1.333)"
            in r.json()["error"])
    assert folders(server) == before  # neither the film nor the reference is kept


def test_photo_with_a_reference_and_unknown_ids_are_refused(server, client):
    before = folders(server)
    ref = send_reference(client, png(vivid())).json()
    r = post(client, photo_bytes(32, 40), "p.jpg", reference_frame=ref["id"])
    assert r.status_code == 400 and "p.jpg: is a photo; a reference image for the first shot " \
        "goes with a film" in r.json()["error"]
    assert folders(server) == before
    r = post(client, photo_bytes(32, 40), "p.jpg", reference_frame=ref["id"])  # used: gone
    assert r.status_code == 404 and "unknown or expired reference image" in r.json()["error"]
    assert folders(server) == before  # refused before the upload is stored


def test_fit_to_film_resizes_within_one_percent():
    rgb = torch.from_numpy(vivid(96, 129)).permute(2, 0, 1)  # 129/96 = 1.344: +0.8 %
    assert film_reference.fit_to_film(rgb, "r.png", W, H).shape == (3, H, W)
    wide = torch.from_numpy(vivid(96, 130)).permute(2, 0, 1)  # 1.354: +1.6 %
    with pytest.raises(ValueError, match="r.png: is 130x96"):
        film_reference.fit_to_film(wide, "r.png", W, H)


def out_chroma(client, job: dict, tmp_path) -> float:
    out = tmp_path / f"{job['id']}.mp4"
    out.write_bytes(client.get(job["files"]["film"]).content)
    import av
    with av.open(str(out)) as c:
        frames = [torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1)
                  for f in c.decode(video=0)]
    return float(np.mean([film_reference.mean_chroma(f) for f in frames]))


def test_film_with_reference_carries_its_colour(server, client, tmp_path):
    film = gray_film(tmp_path / "gray.mp4").read_bytes()
    # at twice the film's size: the page resizes it
    ref = send_reference(client, png(vivid(2 * H, 2 * W)), "colorist.png")
    assert ref.status_code == 200, ref.text
    r = post(client, film, "gray.mp4", reference_frame=ref.json()["id"])
    assert r.status_code == 202, r.text
    job = wait(client, r.json())
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 12 and job["reference"] == "colorist.png"
    left = {p.name for p in (server.root / job["id"]).iterdir()}
    assert "color.mp4" in left and film_reference.FOLDER not in left  # the DIR is removed
    want = film_reference.mean_chroma(torch.from_numpy(vivid()).permute(2, 0, 1))
    carried = out_chroma(client, job, tmp_path)
    plain = out_chroma(client, wait(client, post(client, film, "gray.mp4").json()), tmp_path)
    assert abs(carried - want) < 0.25 * want and plain < 0.5 * want, (carried, want, plain)


def test_reference_upload_keeps_the_image(server, client):
    r = send_reference(client, png(vivid()), "colorist.png")
    assert r.status_code == 200, r.text
    ref = r.json()
    assert ref["kind"] == "film-reference" and (ref["width"], ref["height"]) == (W, H)
    saved = list((server.root / ref["id"]).iterdir())
    assert len(saved) == 1 and read_image(saved[0]).shape == (3, H, W)


@pytest.mark.parametrize("fails", [False, True], ids=["done", "failed"])
def test_job_hands_the_folder_to_colorize_video_and_removes_it(server, client, tmp_path,
                                                               monkeypatch, fails):
    """The worker's side with colorize_video stubbed: DIR holds 000000.png at the film's size
    when the pipeline runs, and is gone after the job, whether it succeeded or failed."""
    from colorgan.app import work

    seen = {}
    real = work.colorize_video

    def spy(src, dst, *args, reference_frames=None, **kwargs):
        seen["files"] = sorted(p.name for p in reference_frames.iterdir())
        seen["size"] = tuple(read_image(reference_frames / film_reference.FIRST).shape)
        if fails:
            raise ValueError("the pipeline refused it")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(work, "colorize_video", spy)
    ref = send_reference(client, png(vivid(2 * H, 2 * W)), "colorist.png").json()
    r = post(client, gray_film(tmp_path / "g.mp4").read_bytes(), "g.mp4", reference_frame=ref["id"])
    assert r.status_code == 202, r.text
    job = wait(client, r.json())
    assert seen == {"files": ["000000.png"], "size": (3, H, W)}
    assert job["state"] == ("error" if fails else "done"), job
    if fails:
        assert job["message"] == "the pipeline refused it"
    assert not (server.root / job["id"] / film_reference.FOLDER).exists()
    assert not (server.root / ref["id"]).exists()  # the reference was used once


def test_one_reference_goes_to_one_film_even_when_two_ask_at_once(server, client, tmp_path,
                                                                   monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from colorgan.app import work
    monkeypatch.setattr(work, "colorize_video", lambda *a, **k: (_ for _ in ()).throw(
        ValueError("stub")))  # the pipeline is not what is tested here
    film = gray_film(tmp_path / "g.mp4").read_bytes()
    ref = send_reference(client, png(vivid()), "colorist.png").json()

    def one(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            return post(c, film, "g.mp4", reference_frame=ref["id"]).status_code

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(one, range(2))) == [202, 404]
    assert not (server.root / ref["id"]).exists()
