"""Cost of decoding Lab to sRGB with gamut mapping (``map_into_gamut``: out-of-gamut chroma cut
at constant L and hue) against the per-channel clip it replaced, at 512 x 512 and one 1080p frame.

    python benchmarks/gamut.py                      # gains 1, 1.5 and 3, 1 thread
    python benchmarks/gamut.py --gains 1 1.25 --repeats 7 --photo my.jpg

Two sources: a real photo (``--photo``; default the first forest photo of
../shared/data/images/scenes, skipped when absent) and the synthetic scene of
colorgan.data.synthetic (a saturated sky: most of it leaves sRGB at any gain above 1), each
resized to the size. Its chroma times each gain is decoded; rows: CPU ms per decode (best of
--repeats, the two paths alternating), the ratio, and the share of pixels outside sRGB (the
ones the mapping works on). What the mapping keeps (L, hue) is checked by tests/test_gamut.py.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorgan.color import lab_norm_to_rgb, rgb_to_lab_norm, scale_ab, uint8_to_float  # noqa: E402
from colorgan.data.images import read_rgb  # noqa: E402
from colorgan.data.synthetic import render_scene  # noqa: E402

PHOTO = Path(__file__).resolve().parents[2] / "shared/data/images/scenes/forest"

SIZES = {"512x512": (512, 512), "1080p": (1080, 1920)}


def outside(L: torch.Tensor, ab: torch.Tensor) -> float:
    """Share of pixels whose clipped decode differs from the mapped one (outside sRGB)."""
    return float((lab_norm_to_rgb(L, ab, "clip") != lab_norm_to_rgb(L, ab)).any(1).float().mean())


def ms(L: torch.Tensor, ab: torch.Tensor, gamut: str) -> float:
    """CPU milliseconds of one decode (process time: what other processes on a shared machine
    take is not counted; with --threads 1 it is the wall time of an idle machine)."""
    t = time.process_time()
    lab_norm_to_rgb(L, ab, gamut)
    return (time.process_time() - t) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gains", type=float, nargs="+", default=[1.0, 1.5, 3.0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--photo", type=Path, default=None, help="a colour photo (default: see above)")
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--sources", nargs="+", default=["photo", "synthetic"],
                   choices=["photo", "synthetic"])
    a = p.parse_args()
    photo = a.photo or (min(PHOTO.glob("*.jpg"), default=None) if PHOTO.is_dir() else None)
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, best of {a.repeats}\n")
    print(f"photo: {photo or 'none (../shared/data absent)'}\n")
    print("| source | size | gain | pixels outside sRGB | clip (CPU ms) | map (CPU ms) | map / clip |")
    print("|---|---|---|---|---|---|---|")
    runs = [(src, size) for src in a.sources for size in a.sizes if photo or src != "photo"]
    for source, name in runs:
        h, w = SIZES[name]
        if source == "photo":
            small = uint8_to_float(torch.from_numpy(read_rgb(photo).copy()).permute(2, 0, 1))[None]
            rgb = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        else:
            rgb = render_scene(h, seed=0, width=w)[None]  # (1, 3, h, w)
        L, ab0 = rgb_to_lab_norm(rgb.clamp(0, 1))  # (1, 1, h, w), (1, 2, h, w)
        for gain in a.gains:
            ab = scale_ab(ab0, gain)
            clip, mapped = [], []
            with torch.no_grad():
                ms(L, ab, "map")  # warm-up
                for _ in range(a.repeats):  # alternate, so both see the same load
                    clip.append(ms(L, ab, "clip"))
                    mapped.append(ms(L, ab, "map"))
            c, m = min(clip), min(mapped)
            print(f"| {source} | {name} | {gain:g} | {outside(L, ab):.1%} | {c:.1f} | {m:.1f} "
                  f"| {m / c:.2f}x |")


if __name__ == "__main__":
    main()
