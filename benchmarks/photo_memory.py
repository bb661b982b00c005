"""Peak memory of colorizing one large photo: banded recombination against the whole-image path.

    python benchmarks/photo_memory.py                  # 48 MP (8000 x 6000), unet_64 at 64 px
    python benchmarks/photo_memory.py --megapixels 12 --netG unet_256 --size 256

Each path runs in a fresh process: the photo is made in memory (uint8, as decoded), then
colorized and written as JPEG. Rows: RSS once the photo is decoded, peak RSS, and the peak
above the decoded photo (the goal: under about 1 GB at 48 MP). ``whole`` is the path every
photo took before banding (Colorizer.colorize on the full image); the generator has random
weights: memory does not depend on them.
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


def child(mode: str, megapixels: float, netG: str, size: int) -> None:
    import torch
    from omegaconf import OmegaConf

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.colorize.photos import colorize_banded, write_image
    from colorgan.models.gan_module import build_generator
    from colorgan.utils.config import CONFIG_DIR

    torch.set_num_threads(2)
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{netG}.yaml"))
    c = Colorizer(build_generator(cfg, "lab", None), "lab", size)
    W = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    H = int(round(megapixels * 1e6 / W))
    y = torch.linspace(0, 255, H).view(H, 1)
    x = torch.linspace(0, 255, W).view(1, W)
    rgb = ((y + x) / 2).to(torch.uint8).expand(3, H, W).contiguous()  # (3, H, W) "decoded"
    base = rss_mb()
    t0 = time.perf_counter()
    out = colorize_banded(rgb, c) if mode == "banded" else c.colorize(rgb[None])[0]
    with tempfile.TemporaryDirectory() as d:
        write_image(out, Path(d) / "out.jpg")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB -> MB on Linux
    print(json.dumps({"mode": mode, "size": f"{W}x{H}", "decoded_mb": base, "peak_mb": peak,
                      "seconds": time.perf_counter() - t0}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megapixels", type=float, default=48)
    ap.add_argument("--netG", default="unet_64", help="conf/model/netG preset")
    ap.add_argument("--size", type=int, default=64, help="generator input size")
    ap.add_argument("--modes", nargs="+", default=["banded", "whole"])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.megapixels, a.netG, a.size)
    rows = []
    for mode in a.modes:
        r = subprocess.run([sys.executable, __file__, "--child", mode, "--megapixels",
                            str(a.megapixels), "--netG", a.netG, "--size", str(a.size)],
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            print(f"{mode}: failed\n{r.stderr[-2000:]}")
            continue
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(f"\n{a.megapixels:g} MP photo, {a.netG} at {a.size} px, CPU\n")
    print("| path | decoded photo, RSS (MB) | peak RSS (MB) | peak above decoded (MB) | time (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} ({r['size']}) | {r['decoded_mb']:.0f} | {r['peak_mb']:.0f} | "
              f"{r['peak_mb'] - r['decoded_mb']:.0f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
