"""Peak memory and time of colorizing one photo of a given shape, against the paths before.

    python benchmarks/photo_memory.py                  # 48 MP (6000 x 8000), banded vs whole
    python benchmarks/photo_memory.py --megapixels 12 --netG unet_256 --size 256
    python benchmarks/photo_memory.py --shapes 1x4000 4000x1 2x3000 48mp --modes now uncapped

Each path runs in a fresh process (killed after --timeout s): the photo is made in memory
(uint8, as decoded), then colorized and written as JPEG. Rows: RSS once the photo is decoded,
peak RSS, the peak above the decoded photo, and the time. Modes: ``now`` (colorize_photo:
generator input capped at MAX_ASPECT x the training size, banded above 2 MP); ``uncapped``
(the same without the cap: the short side always at the training size, as before round three,
so a 1 x 4000 strip reached the generator as 64 x 256,000); ``banded`` (colorize_banded) and
``whole`` (Colorizer.colorize on the full image, the path before banding). The generator has
random weights: memory and time do not depend on them.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Current resident set size (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _shape(shape: str, megapixels: float) -> tuple[int, int]:
    """"HxW" (rows x columns) or "48mp" (4:3 landscape) -> (H, W)."""
    if shape.lower().endswith("mp"):
        megapixels = float(shape[:-2])
    elif shape:
        h, w = shape.lower().split("x")
        return int(h), int(w)
    W = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    return int(round(megapixels * 1e6 / W)), W


def child(mode: str, shape: str, megapixels: float, netG: str, size: int) -> None:
    import torch
    from omegaconf import OmegaConf

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.colorize.photos import colorize_banded, colorize_photo, write_image
    from colorgan.models.gan_module import build_generator
    from colorgan.utils.config import CONFIG_DIR

    torch.set_num_threads(2)
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{netG}.yaml"))
    c = Colorizer(build_generator(cfg, "lab", None), "lab", size)
    if mode == "uncapped":
        c.max_aspect = 1e9  # no cap
    H, W = _shape(shape, megapixels)
    y = torch.linspace(0, 255, H).view(H, 1)
    x = torch.linspace(0, 255, W).view(1, W)
    rgb = ((y + x) / 2).to(torch.uint8).expand(3, H, W).contiguous()  # (3, H, W) "decoded"
    base = rss_mb()
    t0 = time.perf_counter()
    run = {"banded": lambda: colorize_banded(rgb, c), "whole": lambda: c.colorize(rgb[None])[0]}
    out = run.get(mode, lambda: colorize_photo(rgb, c))()
    with tempfile.TemporaryDirectory() as d:
        write_image(out, Path(d) / "out.jpg")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB -> MB on Linux
    print(json.dumps({"mode": mode, "size": f"{H}x{W}", "net": "x".join(map(str, c.net_size(
        *_reduced(H, W, c)))), "decoded_mb": base, "peak_mb": peak,
        "seconds": time.perf_counter() - t0}))


def _reduced(H: int, W: int, c) -> tuple[int, int]:
    """The size the generator input is made from (banded photos: a reduced copy)."""
    from colorgan.colorize.photos import BAND_PIXELS, REDUCED_SIDE

    if H * W <= BAND_PIXELS:
        return H, W
    scale = min(1.0, max(REDUCED_SIDE, c.image_size) / max(H, W))
    return max(1, round(H * scale)), max(1, round(W * scale))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megapixels", type=float, default=48)
    ap.add_argument("--shapes", nargs="+", default=[""],
                    help="HxW (rows x columns) or NNmp; default: --megapixels at 4:3")
    ap.add_argument("--netG", default="unet_64", help="conf/model/netG preset")
    ap.add_argument("--size", type=int, default=64, help="generator input size")
    ap.add_argument("--modes", nargs="+", default=["banded", "whole"],
                    choices=["now", "uncapped", "banded", "whole"])
    ap.add_argument("--timeout", type=float, default=120, help="seconds before a run is killed")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--shape", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.shape, a.megapixels, a.netG, a.size)
    rows = []
    for shape in a.shapes:
        for mode in a.modes:
            cmd = [sys.executable, __file__, "--child", mode, "--shape", shape, "--megapixels",
                   str(a.megapixels), "--netG", a.netG, "--size", str(a.size)]
            H, W = _shape(shape, a.megapixels)
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                                   timeout=a.timeout)
            except subprocess.TimeoutExpired:
                rows.append({"mode": mode, "size": f"{H}x{W}", "killed": True})
                continue
            if r.returncode:
                print(f"{mode} {shape}: failed\n{r.stderr[-2000:]}")
                continue
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(f"\n{a.netG} at {a.size} px, CPU, killed after {a.timeout:g} s\n")
    print("| photo (H x W) | path | generator input | decoded photo, RSS (MB) | peak RSS (MB) | "
          "peak above decoded (MB) | time (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("killed"):
            print(f"| {r['size']} | {r['mode']} | | | | | killed after {a.timeout:g} s |")
            continue
        print(f"| {r['size']} | {r['mode']} | {r['net']} | {r['decoded_mb']:.0f} | "
              f"{r['peak_mb']:.0f} | {r['peak_mb'] - r['decoded_mb']:.0f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
