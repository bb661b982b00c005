"""Quality cost of chroma keyframes: the luma passthrough path with the generator on every k-th
frame of a shot, against the colour original and against colouring every frame.

    python benchmarks/keyframe_quality.py --ckpt CKPT                 # the clips in ../shared/data
    python benchmarks/keyframe_quality.py --ckpt CKPT --interval 1 5 15 --temporal smooth

Per clip, temporal mode, interval k and blend/hold: PSNR, SSIM, CIEDE2000 against the
original (before encoding; the original decoded with its own matrix), CDC and flicker ratio
(``colorgan eval-video``'s metrics), and PSNR against the every-frame (k = 1) output of the
same mode (from the MSE over all frames), i.e. how far the keyframes move the film from what
the model alone would give.
Mode ``oracle``: the original's own chroma at the keyframes (a perfect model), i.e. what
keyframing alone loses.
"""
from __future__ import annotations

import argparse
import copy
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.film_quality import CLIPS, yuv_frame_rgb
from colorgan.color import rgb_to_lab_norm
from colorgan.colorize.colorizer import Colorizer, Prepared
from colorgan.colorize.film_eval import VideoMetrics
from colorgan.colorize.films import colorize_planes
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.metrics import rgb_ciede2000
from colorgan.video.io import ColourTags, Frame, probe, read_frames


def oracle(c: Colorizer, frames: Iterable[Frame], tags: ColourTags) -> Iterator[Frame]:
    """Make ``c`` a perfect model: its "generator input" is the original's ab at the net size
    (as in film_quality.py) and ``predict_ab`` hands it back, so only keyframing loses colour."""
    todo: deque[torch.Tensor] = deque()  # (1, 2, h, w) per frame read, not yet prepared

    def prepare_luma(y: torch.Tensor, full_range: bool = False) -> Prepared:
        prep = Colorizer.prepare_luma(c, y, full_range)
        prep.real_A = torch.cat([todo.popleft() for _ in range(y.shape[0])])  # (B, 2, h, w)
        return prep

    c.prepare_luma, c.predict_ab = prepare_luma, lambda real_A, prev=None: real_A
    for f in frames:
        rgb = torch.from_numpy(yuv_frame_rgb(f.yuv[0], np.stack(f.yuv[1:]), tags))
        small = F.interpolate(rgb.permute(2, 0, 1)[None].float() / 255, antialias=True,
                              size=c.net_size(*rgb.shape[:2]), mode="bilinear")
        todo.append(rgb_to_lab_norm(small.clamp(0, 1))[1])
        yield f


def run(clip: Path, c: Colorizer, mode: str, k: int, blend: bool, every: list | None,
        max_frames: int | None) -> tuple[dict, list[torch.Tensor]]:
    tags = probe(clip).tags
    vm, de, agree, outs = VideoMetrics(), [], [], []
    frames = read_frames(clip, max_frames, planes=True)
    if mode == "oracle":
        c, mode = copy.copy(c), "independent"
        frames = oracle(c, frames, tags)
    for batch, uv in colorize_planes(frames, TemporalColorizer(c, mode), tags, 8, k, blend):
        for f, planes in zip(batch, uv):
            real = torch.from_numpy(yuv_frame_rgb(f.yuv[0], np.stack(f.yuv[1:]), tags))
            fake = torch.from_numpy(yuv_frame_rgb(f.yuv[0], planes, tags))
            real, fake = (x.permute(2, 0, 1)[None] for x in (real, fake))  # (1, 3, H, W) uint8
            vm.update(fake, real)
            de.append(float(rgb_ciede2000(fake.float() / 255, real.float() / 255).mean()))
            if every is not None:
                agree.append(float((fake.float() - every[len(outs)].float()).pow(2).mean()))
            outs.append(fake.clone())  # PyAV may reuse the array it converted into
    m = vm.compute()
    m["de"] = float(np.mean(de))
    m["agree"] = 10 * np.log10(255**2 / max(np.mean(agree), 1e-10)) if agree else float("inf")
    return m, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--clip", type=Path, action="append", default=None)
    ap.add_argument("--interval", type=int, nargs="+", default=[2, 5, 8, 15])
    ap.add_argument("--temporal", nargs="+", default=["oracle", "independent", "smooth"],
                    help="oracle: the original's own chroma at keyframes (a perfect model)")
    ap.add_argument("--max-frames", type=int, default=None)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    c = Colorizer.from_checkpoint(a.ckpt, device="cpu")
    print("| clip | temporal | k | between keyframes | PSNR (dB) | SSIM | CIEDE2000 | CDC | "
          "flicker ratio | PSNR vs k=1 (dB) |\n|---|---|---|---|---|---|---|---|---|---|")
    for clip in a.clip or CLIPS:
        for mode in a.temporal:
            every = None
            for k in [1, *a.interval]:
                for blend in ([True] if k == 1 else [True, False]):
                    m, outs = run(clip, c, mode, k, blend, every, a.max_frames)
                    every = outs if k == 1 else every
                    how = "-" if k == 1 else ("blend" if blend else "hold")
                    print(f"| {clip.name} | {mode} | {k} | {how} | {m['psnr']:.2f} | "
                          f"{m['ssim']:.4f} | {m['de']:.2f} | {m['cdc']:.5f} | "
                          f"{m['flicker']:.3f} | {m['agree']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
