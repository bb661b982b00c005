"""Peak memory of colorizing a 4K film: does it grow with the film's length? (docs/films.md)

    python benchmarks/film_memory.py                      # 3840x2160, 24 / 96 / 192 frames
    python benchmarks/film_memory.py --frames 48 480 --width 1920 --height 1080

A gray 4K clip is generated once (a textured pattern panning across the frame, libx264
ultrafast), then each length runs in a fresh process: the default film path (luma passthrough,
chroma keyframes on a CPU), the first N frames of the clip, output encoded with the same
settings. Rows: frames, seconds, frames/s, peak RSS. Goal: peak RSS the same for every length
(bounded by the queue sizes and the keyframe lookahead, not the film). The generator has random
weights: memory does not depend on them. Transcode only (no model) is the first row: the
decoder's and encoder's own memory at this size.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_clip(path: Path, frames: int, width: int, height: int, rate: int = 24) -> None:
    """A gray clip whose content pans every frame (so no encoder shortcut is free)."""
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (height // 8 + 1, width // 8 + 64), dtype=np.uint8)
    tile = np.kron(tile, np.ones((8, 8), np.uint8))  # 8x8 blocks: texture x264 must code
    ramp = np.linspace(40, 215, width, dtype=np.float32)[None]
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23"}
        s.time_base = Fraction(1, rate)
        for i in range(frames):
            y = tile[:height, 4 * i % 512:4 * i % 512 + width].astype(np.float32)
            y = (0.5 * y + 0.5 * ramp).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(np.repeat(y[..., None], 3, -1), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def _child(kind: str, clip: str, out: str, n: int, q) -> None:
    warnings.filterwarnings("ignore", message=".*cannot be stored.*")
    import torch

    from benchmarks.video_throughput import make_colorizer
    from colorgan.colorize.films import colorize_video
    from colorgan.video.io import VideoWriter, probe, read_frames

    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    if kind == "transcode":
        info, done = probe(clip), 0
        w = VideoWriter(Path(out), info, info.width, info.height, preset="ultrafast")
        for f in read_frames(clip, n, planes=True):
            w.write_yuv(*f.yuv, f.pts, f.duration)
            done += 1
        w.close()
    else:
        c = make_colorizer("unet_64", 64, "cpu")
        done = colorize_video(clip, out, c, preset="ultrafast", overwrite=True, max_frames=n,
                              progress=False).frames
    q.put((done, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(kind: str, clip: Path, out: Path, n: int) -> tuple[int, float, float]:
    from benchmarks.video_throughput import in_fresh_process

    return in_fresh_process(_child, kind, str(clip), str(out), n)  # peak RSS: this row's alone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[24, 96, 192])
    ap.add_argument("--width", type=int, default=3840)
    ap.add_argument("--height", type=int, default=2160)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip, out = Path(tmp) / "clip.mp4", Path(tmp) / "out.mp4"
        t0 = time.perf_counter()
        make_clip(clip, max(a.frames), a.width, a.height)
        print(f"{a.width}x{a.height}, {max(a.frames)} frames generated in "
              f"{time.perf_counter() - t0:.0f} s\n")
        rows = [("transcode only (no model)", *measure("transcode", clip, out, max(a.frames)))]
        rows += [(f"colorgan colorize, first {n} frames", *measure("colorize", clip, out, n))
                 for n in a.frames]
    print("| run | frames | seconds | frames/s | peak RSS (MiB) |\n|---|---|---|---|---|")
    for name, n, s, rss in rows:
        print(f"| {name} | {n} | {s:.1f} | {n / s:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
