"""What one change of the web page's colour points costs: the refresh of a 512 px photo with a
``unet_64`` hint checkpoint, against the automatic colorization of the same photo (baseline).

    python benchmarks/hint_refresh.py                   # 512 x 512, 8 points, 2 threads, best of 5
    python benchmarks/hint_refresh.py --size 1024 --points 32 --no-flip

The checkpoint has random weights (speed does not depend on them) and the settings of
``experiment=scenes64_hints``: trained at 64 px, flip averaging on. Rows, all on the same photo
and the same loaded model, alternating within each round (the best round of each is kept):

- ``colorize``: ``Colorizer.colorize(photo)`` (baseline: the automatic colour, no hints);
- ``refresh (server side)``: what a hint request runs on a worker (colorgan/app/hints.py): the
  kept photo loaded, ``colorize(photo, hints=...)``, the PNG encoded; also with a reference;
- ``refresh over HTTP``: ``POST /api/jobs/{id}/hints`` through Starlette's TestClient (the JSON
  parsed and checked, the worker pool, the PNG sent);
- ``upload over HTTP``: ``POST /api/colorize`` of the photo's PNG (what the page did before:
  upload, decode, colorize, three PNGs written).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fastapi.testclient import TestClient  # noqa: E402

from colorgan.app.hints import recolorize  # noqa: E402
from colorgan.app.server import create_app  # noqa: E402
from colorgan.colorize.colorizer import Colorizer  # noqa: E402
from colorgan.data.synthetic import render_scene  # noqa: E402
from colorgan.hints.user import parse_hints, reference_palette  # noqa: E402
from colorgan.models.build import build_generator  # noqa: E402


def write_checkpoint(path: Path, net: str, size: int, flip: bool) -> Path:
    cfg = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/model/netG" / f"{net}.yaml"))
    hints = {"enabled": True}
    netG = build_generator(cfg, "lab", None, hints=hints)
    hp = {"netG": cfg, "color_space": "lab", "train_image_size": size, "tta_flip": flip,
          "hints": hints}
    torch.save({"hyper_parameters": hp,
                "state_dict": {f"netG.{k}": v for k, v in netG.state_dict().items()}}, path)
    return path


def best(fn, rounds: list[float]) -> None:
    t0 = time.perf_counter()
    fn()
    rounds.append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512, help="the photo's side (px)")
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--net", default="unet_64")
    ap.add_argument("--train-size", type=int, default=64, help="the checkpoint's training size")
    ap.add_argument("--no-flip", action="store_true", help="checkpoint without flip averaging")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = write_checkpoint(tmp / "hints.ckpt", a.net, a.train_size, not a.no_flip)
        colorizer = Colorizer.from_checkpoint(ckpt, "cpu", "fp32")
        scene = (render_scene(a.size, 1) * 255).round().to(torch.uint8)  # (3, S, S)
        gray = Image.fromarray(scene.permute(1, 2, 0).numpy()).convert("L")
        buf = io.BytesIO()
        gray.save(buf, format="PNG")
        photo = torch.from_numpy(np.asarray(gray.convert("RGB")).copy()).permute(2, 0, 1)[None]
        hints = [{"x": float(x), "y": float(y), "color": f"#{int(c):06x}", "radius": a.size / 40}
                 for x, y, c in zip(rng.uniform(0, a.size - 1, a.points),
                                    rng.uniform(0, a.size - 1, a.points),
                                    rng.integers(0, 1 << 24, a.points))]
        body = json.dumps(hints)
        points = parse_hints(hints, "bench", a.size, a.size)
        palette = reference_palette(render_scene(128, 7), "reference")
        app = create_app(colorizer, workdir=str(tmp), workers=2)
        with TestClient(app) as client:
            job = client.post("/api/colorize", params={"name": "p.png"},
                              content=buf.getvalue()).json()
            kept = app.state.store.get(job["id"])
            rows = {
                "colorize (baseline: automatic)": lambda: colorizer.colorize(photo),
                "refresh, server side": lambda: recolorize(kept, colorizer, points, None),
                "refresh + reference, server side": lambda: recolorize(kept, colorizer, points,
                                                                       palette),
                "refresh over HTTP (TestClient)": lambda: client.post(
                    f"/api/jobs/{job['id']}/hints", content=body).raise_for_status(),
                "upload over HTTP (TestClient)": lambda: client.post(
                    "/api/colorize", params={"name": "p.png"},
                    content=buf.getvalue()).raise_for_status(),
            }
            for fn in rows.values():  # warm-up: first calls allocate
                fn()
            times: dict[str, list[float]] = {row: [] for row in rows}
            for _ in range(a.rounds):
                for row, fn in rows.items():
                    best(fn, times[row])
    base = min(times["colorize (baseline: automatic)"])
    flip = "off" if a.no_flip else "on"
    print(f"{a.size} x {a.size} photo, {a.points} points, {a.net} trained at {a.train_size} px, "
          f"flip {flip}, {a.threads} threads, best of {a.rounds}\n")
    print("| step | best (s) | median (s) | vs colorize |")
    print("|---|---|---|---|")
    for row, ts in times.items():
        print(f"| {row} | {min(ts):.3f} | {float(np.median(ts)):.3f} | {min(ts) / base:.2f}x |")


if __name__ == "__main__":
    main()
