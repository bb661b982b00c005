"""Helpers for the web page tests: a real uvicorn server on a free local port, test files.

(No tests here; imported by test_app.py and test_app_browser.py.)
"""
from __future__ import annotations

import functools
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import av
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import uvicorn  # noqa: E402
from conftest import TINY, make_cfg  # noqa: E402
from test_video_helpers import scene_frames  # noqa: E402

from colorgan.app.protocol import uvicorn_config  # noqa: E402
from colorgan.app.server import create_app  # noqa: E402
from colorgan.app.uploads import Limits  # noqa: E402
from colorgan.colorize.colorizer import Colorizer  # noqa: E402


class LiveServer:
    """``create_app(...)`` served by uvicorn in a thread, exactly as ``colorgan serve`` does."""

    def __init__(self, app) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn_config(app))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    @property
    def root(self) -> Path:
        """The server's temporary folder of uploads and results."""
        return self.app.state.store.root

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@contextmanager
def live_server(ckpt: Path, tmp_path: Path, limits: Limits | None = None,
                **kwargs) -> Iterator[LiveServer]:
    app = create_app(Colorizer.from_checkpoint(ckpt, "cpu"), limits, str(tmp_path), **kwargs)
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.close()


# a tiny U-Net 32 that learns to use colour points in seconds: regression, every image hinted,
# many points, a high learning rate
HINTS = ["model=unet_mse", "model.hints.enabled=true", "model.hints.empty_share=0.0",
         "model.hints.p=0.04", "model.hints.max_patch=4", "model.optimizer_G.lr=0.003",
         "callbacks.sample_grid=null"]


@functools.cache
def hint_checkpoint(root: Path, photos: Path | None = None) -> Path:
    """Train a tiny hint checkpoint once per session on the synthetic scenes (1 epoch) or, with
    ``photos``, on 256 real photos of that folder at 32 px (3 epochs: it follows the points
    visibly); its last.ckpt."""
    from colorgan.train import train

    if photos is None:
        out, overrides = root / "synthetic", TINY + HINTS
    else:
        out = root / "photos"
        overrides = [o for o in TINY if not o.startswith("data.")] + HINTS + [
            "data=folder", f"data.root={photos}", "data.image_size=32", "data.batch_size=16",
            "data.max_train=256", "data.max_val=8", "data.num_workers=0",
            f"data.cache_dir={root / 'cache'}", "trainer.max_epochs=3"]
    train(make_cfg(out, overrides))
    ckpt = json.loads((out / "run" / "metrics.json").read_text())["last_checkpoint"]
    assert ckpt and Path(ckpt).is_file()
    return Path(ckpt)


def post(client, data: bytes, name: str = "x.jpg", **params):
    """POST ``data`` as an upload named ``name`` through an ``httpx.Client``."""
    return client.post("/api/colorize", params={"name": name, **params}, content=data)


def photo_bytes(h: int, w: int, seed: int = 0, mode: str = "L", fmt: str = "JPEG") -> bytes:
    """A random-ish photo with structure (a gradient plus noise), encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 255 / max(w - 1, 1) + rng.integers(0, 60, (h, w))) % 256
    img = np.stack([base, np.roll(base, seed + 1, 0), 255 - base], -1).astype(np.uint8)
    im = Image.fromarray(img).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, quality=95)
    return buf.getvalue()


def film_without_duration(path: Path, frames: int) -> Path:
    """A 25 fps Matroska film written "live": no duration in its header, like a cut-off stream."""
    with av.open(str(path), "w", format="matroska", options={"live": "1"}) as out:
        v = out.add_stream("libx264", rate=25)
        v.height, v.width = 48, 64
        for i, img in enumerate(scene_frames(frames, 3)):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    return path


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def _answer(data: bytes) -> tuple[int, str] | None:
    """(HTTP code, body) once ``data`` holds a whole response, else None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                   if k.strip().lower() == "content-length"), None)
    if length is not None and len(body) < length:
        return None
    return int(lines[0].split()[1]), body.decode("utf-8", "replace")


def raw_upload(url: str, name: str, sent: bytes, declared: int, hold: float,
               trickle: float | None = None, raw: bytes | None = None) -> tuple[int, float, str]:
    """A slow client on a raw socket: POST headers declaring ``declared`` body bytes, send
    ``sent`` (or only ``raw``, e.g. half a request line), then wait at most ``hold`` s for the
    answer (``trickle``: one more byte every so many seconds meanwhile; ``hold=0``: close at
    once, an aborted upload). Returns (HTTP code, 0 when none came; seconds from the request to
    the answer; the answer's body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(raw if raw is not None else
                  f"POST /api/colorize?name={quote(name)} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Content-Length: {declared}\r\n\r\n".encode() + sent)
        t0 = time.monotonic()
        if hold <= 0:
            return 0, 0.0, ""
        s.settimeout(0.05)
        data, drip = b"", t0 + (trickle or float("inf"))
        while time.monotonic() < t0 + hold:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if time.monotonic() >= drip:
                    drip += trickle
                    try:
                        s.sendall(b"\xff")
                    except OSError:  # the server closed: read what it said
                        pass
                continue
            except OSError:
                break
            data += chunk
            if not chunk or _answer(data):
                break
        seconds = time.monotonic() - t0
    code, body = _answer(data) or (0, data.decode("utf-8", "replace"))
    return code, seconds, body
