"""Frames per second of film colorization, against baselines measured in the same run.

    python benchmarks/video_throughput.py                                  # fire2.mp4, 720p
    python benchmarks/video_throughput.py --clip film.mp4 --netG unet_256 --size 256 --device cuda

Rows: decode-only (PyAV decode + RGB conversion: the ceiling), the colorgan pipeline (decoder
thread -> batched model -> encoder thread), the same steps serially in one thread, and a naive
baseline that writes every frame to disk as PNG, colorizes one frame at a time and re-encodes.
Goal on a GPU machine: pipeline >= 0.8x decode-only. The generator has random weights: speed
does not depend on them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.colorize.colorizer import Colorizer, pick_device
from colorgan.colorize.films import colorize_stream, colorize_video
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.models.gan_module import build_generator
from colorgan.utils.config import CONFIG_DIR
from colorgan.video.io import VideoWriter, probe, read_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_colorizer(netG: str, size: int, device: str | None) -> Colorizer:
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{netG}.yaml"))
    return Colorizer(build_generator(cfg, "lab", None), "lab", size, device=pick_device(device))


def timed(fn) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0


def decode_only(clip: Path, max_frames: int | None) -> int:
    return sum(1 for _ in read_frames(clip, max_frames))


def pipeline(clip: Path, out: Path, c: Colorizer, batch: int, max_frames: int | None) -> int:
    return colorize_video(clip, out, c, batch_size=batch, overwrite=True, max_frames=max_frames,
                          progress=False).frames


def serial(clip: Path, out: Path, c: Colorizer, batch: int, max_frames: int | None) -> int:
    """Same steps, one thread: decode a batch, colorize it, encode it, repeat."""
    info, n = probe(clip), 0
    w = VideoWriter(out, info, info.width, info.height)
    for frames, fake, _ in colorize_stream(read_frames(clip, max_frames), TemporalColorizer(c),
                                           batch):
        for f, img in zip(frames, fake.permute(0, 2, 3, 1).numpy()):
            w.write(img, f.pts, f.duration)
        n += len(frames)
    w.close()
    return n


def frames_on_disk(clip: Path, out: Path, c: Colorizer, max_frames: int | None) -> int:
    """The naive way: PNG per frame, model one frame at a time, PNGs re-encoded."""
    info = probe(clip)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        pts = []
        for f in read_frames(clip, max_frames):
            Image.fromarray(f.rgb).save(d / f"in_{f.index:06d}.png")
            pts.append((f.pts, f.duration))
        for i in range(len(pts)):
            rgb = torch.from_numpy(np.array(Image.open(d / f"in_{i:06d}.png"))).permute(2, 0, 1)
            out_rgb = c.colorize(rgb[None])[0].permute(1, 2, 0).numpy()
            Image.fromarray(out_rgb).save(d / f"out_{i:06d}.png")
        w = VideoWriter(out, info, info.width, info.height)
        for i, (p, dur) in enumerate(pts):
            w.write(np.asarray(Image.open(d / f"out_{i:06d}.png")), p, dur)
        w.close()
    return len(pts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, default=SHARED / "videos" / "fire2.mp4")
    ap.add_argument("--netG", default="unet_64", help="conf/model/netG preset")
    ap.add_argument("--size", type=int, default=64, help="the generator's training size")
    ap.add_argument("--device", default=None)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-frames", type=int, default=None)
    a = ap.parse_args()
    if not a.clip.is_file():
        sys.exit(f"{a.clip}: clip not found; pass --clip VIDEO.")
    warnings.filterwarnings("ignore", message=".*cannot be stored.*")
    c = make_colorizer(a.netG, a.size, a.device)
    torch.set_grad_enabled(False)
    info = probe(a.clip)
    c.colorize(torch.zeros(1, 3, info.height, info.width, dtype=torch.uint8))  # warm-up
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out{a.clip.suffix if a.clip.suffix != '.webm' else '.mkv'}"
        rows.append(("decode only", *timed(lambda: decode_only(a.clip, a.max_frames))))
        rows.append(("colorgan pipeline (threads, batches)",
                     *timed(lambda: pipeline(a.clip, out, c, a.batch_size, a.max_frames))))
        rows.append(("serial decode-model-encode",
                     *timed(lambda: serial(a.clip, out, c, a.batch_size, a.max_frames))))
        rows.append(("frames on disk, 1 frame at a time",
                     *timed(lambda: frames_on_disk(a.clip, out, c, a.max_frames))))
    base = rows[0][1] / rows[0][2]
    print(f"\n{a.clip.name}: {info.width}x{info.height}, {a.netG} at {a.size} px, "
          f"device {c.device}, batch {a.batch_size}, torch threads {torch.get_num_threads()}\n")
    print("| method | frames | seconds | frames/s | x decode-only |\n|---|---|---|---|---|")
    for name, n, s in rows:
        print(f"| {name} | {n} | {s:.2f} | {n / s:.1f} | {n / s / base:.2f} |")


if __name__ == "__main__":
    main()
