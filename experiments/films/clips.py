"""The clips of experiments/films: joined real clips with known cuts (test) and simulated
camera-motion sequences made from validation photos (validation). Written to an output folder
(never to ../shared), losslessly (x264 4:4:4, crf 0), so the truth is the decoded frame.

    python experiments/films/clips.py joined --out OUT/clips
    python experiments/films/clips.py val --root ../shared/data/images/scenes --out OUT/val
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import av
import cv2
import numpy as np

VIDEOS = ("realshort.mp4", "test.webm", "fire2.mp4")
JOINED_SIZE = (320, 240)   # (w, h) every part is resized to
VAL_FRAMES, VAL_SIZE = 24, (192, 144)


def write_clip(path: Path, frames: list[np.ndarray], rate: int = 25) -> Path:
    """uint8 (H, W, 3) RGB frames -> a lossless x264 4:4:4 clip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt, v.options = "yuv444p", {"crf": "0"}
        for f in frames:
            for pkt in v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pkt)
        for pkt in v.encode():
            out.mux(pkt)
    return path


def read_rgb(path: Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return frames


def joined(videos: Path, out: Path) -> list[dict]:
    """Two joined clips (all three real clips, in two orders) at JOINED_SIZE; known cuts."""
    parts = {n: read_rgb(videos / n, JOINED_SIZE) for n in VIDEOS}
    rows = []
    for name, order in (("joined_a", VIDEOS), ("joined_b", VIDEOS[::-1])):
        frames, cuts = [], []
        for n in order:
            if frames:
                cuts.append(len(frames))
            frames += parts[n]
        write_clip(out / f"{name}.mp4", frames)
        rows.append({"clip": f"{name}.mp4", "parts": list(order), "frames": len(frames),
                     "known_cuts": cuts})
    (out / "joined.json").write_text(json.dumps(rows, indent=2))
    return rows


def val_photos(root: Path) -> list[Path]:
    """The validation split of colorgan's data=folder (test 0.1, val 0.2, split_seed 0)."""
    from colorgan.data.folder import FolderDataModule
    dm = FolderDataModule(root=str(root), val_fraction=0.2, test_fraction=0.1, split_seed=0)
    return dm.list_files(root)["val"]


def simulate(photo: np.ndarray, other: np.ndarray, rng: np.random.Generator,
             n: int = VAL_FRAMES, size: tuple[int, int] = VAL_SIZE) -> list[np.ndarray]:
    """One photo under a smooth random affine camera move (pan, zoom, rotation), a slow
    brightness drift and a patch of ``other`` moving across it; the frames are the truth."""
    w, h = size
    base = cv2.resize(photo, (int(w * 1.4), int(h * 1.4)), interpolation=cv2.INTER_CUBIC)
    patch = cv2.resize(other, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    pan = rng.uniform(-0.12, 0.12, 2) * (w, h)
    zoom = rng.uniform(-0.12, 0.12)
    rot = rng.uniform(-6, 6)
    drift = rng.uniform(-0.15, 0.15)
    y0, y1 = rng.uniform(0, h - patch.shape[0], 2)
    frames = []
    for t in range(n):
        s = 0.5 - 0.5 * math.cos(math.pi * t / (n - 1))  # smooth start and stop, in [0, 1]
        cx, cy = base.shape[1] / 2 + pan[0] * s, base.shape[0] / 2 + pan[1] * s
        m = cv2.getRotationMatrix2D((cx, cy), rot * s, (1 + zoom * s) * 1.0)
        m[:, 2] += (w / 2 - cx, h / 2 - cy)
        f = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        f = np.clip(f.astype(np.float32) * (1 + drift * t / (n - 1)), 0, 255)
        x = int(-patch.shape[1] + (w + patch.shape[1]) * t / (n - 1))
        y = int(y0 + (y1 - y0) * t / (n - 1))
        a, b = max(0, x), min(w, x + patch.shape[1])
        if b > a:
            f[y:y + patch.shape[0], a:b] = patch[:, a - x:b - x]
        frames.append(f.round().astype(np.uint8))
    return frames


def val_sequences(root: Path, out: Path, count: int, seed: int = 0) -> list[dict]:
    photos = val_photos(root)[:count + 1]
    rng = np.random.default_rng(seed)
    rows = []
    for i, p in enumerate(photos[:count]):
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        other = cv2.cvtColor(cv2.imread(str(photos[(i + 1) % len(photos)])), cv2.COLOR_BGR2RGB)
        write_clip(out / f"val_{i:02d}.mp4", simulate(img, other, rng))
        rows.append({"clip": f"val_{i:02d}.mp4", "photo": str(p)})
    (out / "val.json").write_text(json.dumps(rows, indent=2))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["joined", "val"])
    p.add_argument("--videos", type=Path, default=Path("../shared/data/videos"))
    p.add_argument("--root", type=Path, default=Path("../shared/data/images/scenes"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--count", type=int, default=16, help="val: sequences (one photo each)")
    a = p.parse_args()
    rows = joined(a.videos, a.out) if a.what == "joined" else val_sequences(a.root, a.out, a.count)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
