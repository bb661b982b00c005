"""How long the classic hint baselines (colorgan/hints/baselines.py) take per image, and how
well they colour real photos from 50 hints.

(a) speed: nearest, nearest + L and Levin et al. (2004) on one image with 50 hinted 3x3 patches
    at 64, 256 and 512 px, Levin's LU in nested-dissection order (now) against SuperLU's own
    COLAMD order (the baseline), best of --repeats, wall and CPU seconds;
(b) --quality: mean PSNR of the decoded RGB over --photos photos of ../shared/data/images/scenes
    with 50 random 3x3 hint patches of the true colour, for gray, each baseline and the "+L"
    weights 0.25-8 (how LUMA_WEIGHT was chosen).

    python benchmarks/hint_baselines.py                      # (a), prints a markdown table
    python benchmarks/hint_baselines.py --quality --size 64  # (b)
"""
from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.linalg import splu
from torchmetrics.functional.image import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.color import (  # noqa: E402
    denormalize_ab,
    denormalize_l,
    lab_norm_to_rgb,
    normalize_ab,
    normalize_l,
    rgb_to_lab_norm,
)
from colorgan.data.images import load_rgb  # noqa: E402
from colorgan.hints.baselines import LUMA_WEIGHT, levin_fill, levin_system, nearest_fill  # noqa: E402

SCENES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "scenes"


def photo_lab(path: Path | None, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """L (1, 1, size, size) in [0, 100] and ab (1, 2, size, size) of a photo (smooth noise
    when there is none)."""
    if path is None:
        rgb = torch.nn.functional.avg_pool2d(torch.rand(1, 3, size, size), 9, 1, 4)
    else:
        rgb = load_rgb(path, size).float().div(255)[None]
    L_norm, ab_norm = rgb_to_lab_norm(rgb)
    return denormalize_l(L_norm).clamp(0, 100), denormalize_ab(ab_norm)


def random_hints(ab: torch.Tensor, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """hint_ab, mask: ``n`` 3x3 patches of the true ab at random places."""
    size = ab.shape[-1]
    mask = torch.zeros_like(ab[:, :1])
    for y, x in torch.randint(0, size - 2, (n, 2), generator=g).tolist():
        mask[..., y:y + 3, x:x + 3] = 1.0
    return ab * mask, mask


def levin_colamd(L: torch.Tensor, hint: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """The baseline: the same Levin system factorised in SuperLU's default COLAMD order."""
    hinted = mask[0, 0].numpy() > 0.5
    A = levin_system(L[0, 0].double().numpy() / 100.0, hinted).tocsc()
    rhs = np.where(hinted.reshape(-1, 1), hint[0].double().numpy().reshape(2, -1).T, 0.0)
    return splu(A).solve(rhs)


METHODS = (("nearest (k-d tree)", nearest_fill),
           (f"nearest + L (w = {LUMA_WEIGHT:g})",
            functools.partial(nearest_fill, luma_weight=LUMA_WEIGHT)),
           ("Levin, COLAMD order (baseline)", levin_colamd),
           ("Levin, nested dissection (now)", levin_fill))


def best_of(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def speed(args: argparse.Namespace) -> None:
    photo = next(iter(sorted(SCENES.glob("*/*.jpg"))), None)
    print(f"image: {photo or 'smooth noise'}; 50 hinted 3x3 patches; torch threads "
          f"{torch.get_num_threads()}\n")
    print("| method | 64 px wall / CPU (s) | 256 px | 512 px |\n|---|---|---|---|")
    rows: dict[str, list[str]] = {}
    for size in (64, 256, 512):
        L, ab = photo_lab(photo, size)
        hint, mask = random_hints(ab, 50, torch.Generator().manual_seed(0))
        for name, fn in METHODS:
            fn = functools.partial(fn, L, hint, mask)
            wall, cpu = best_of(fn, args.repeats)
            rows.setdefault(name, []).append(f"{wall:.3f} / {cpu:.3f}")
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


def quality(args: argparse.Namespace) -> None:
    files = sorted(SCENES.glob("*/*.jpg"))
    if not files:
        sys.exit(f"--quality needs the photos of {SCENES}; they are absent here.")
    files = random.Random(0).sample(files, min(args.photos, len(files)))
    g = torch.Generator().manual_seed(0)
    psnr: dict[str, list[float]] = {}
    for f in files:
        L, ab = photo_lab(f, args.size)
        rgb = lab_norm_to_rgb(normalize_l(L), normalize_ab(ab))
        hint, mask = random_hints(ab, 50, g)
        outs = {"gray": torch.zeros_like(ab), "nearest": nearest_fill(L, hint, mask),
                **{f"nearest + L, w = {w:g}": nearest_fill(L, hint, mask, w)
                   for w in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)},
                "Levin": levin_fill(L, hint, mask)}
        for name, out in outs.items():
            pred = lab_norm_to_rgb(normalize_l(L), normalize_ab(out))
            psnr.setdefault(name, []).append(peak_signal_noise_ratio(pred, rgb, data_range=1.0).item())
    print(f"{len(files)} photos at {args.size} px, 50 random 3x3 hints each\n")
    print("| method | mean PSNR (dB) | photos better than nearest |\n|---|---|---|")
    for name, v in psnr.items():
        wins = sum(a > b for a, b in zip(v, psnr["nearest"]))
        print(f"| {name} | {sum(v) / len(v):.2f} | {wins} / {len(v)} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality", action="store_true", help="PSNR on real photos instead of speed")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--photos", type=int, default=40)
    args = ap.parse_args(argv)
    quality(args) if args.quality else speed(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
