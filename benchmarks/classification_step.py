"""Time of one generator training step (forward, loss, backward) for colour classification:
the old output layout (a 4x4 transposed conv straight to the 261 logits, dense soft targets)
against the 1x1 head with the loss gathered at the 5 non-zero bins, with the regression
generator (2 outputs, L1) as the baseline row, all in one run.

    python benchmarks/classification_step.py                 # unet_64, batch 16, 64 px, CPU
    python benchmarks/classification_step.py --threads 2 --steps 10
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.models.color_classes import ColorBins, soft_cross_entropy
from colorgan.models.gan_module import build_generator
from colorgan.utils.config import CONFIG_DIR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netG", default="unet_64")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{a.netG}.yaml"))
    x = torch.randn(a.batch, 1, a.size, a.size)
    ab = (torch.rand(a.batch, 2, a.size, a.size) - 0.5) * 0.8
    bins = ColorBins()
    reg = build_generator(cfg, "lab", None)
    old = build_generator(cfg, "lab", None, {"enabled": True})  # head_width null
    new = build_generator(cfg, "lab", None, {"enabled": True, "head_width": 64})

    def reg_step():
        (reg(x) - ab).abs().mean().backward()

    def old_step():  # dense soft target + a second nearest-bin search for the rebalancing
        target, _ = bins.soft_encode(ab), bins.nearest(ab)
        soft_cross_entropy(old(x, return_logits=True), target).backward()

    def new_step():
        idx, w = bins.encode(ab)  # idx[:, 0] is the nearest bin
        soft_cross_entropy(new(x, return_logits=True), (idx, w)).backward()

    rows = []
    for name, step in (("regression (2 outputs, L1): baseline", reg_step),
                       ("classification, 4x4 conv to 261 logits, dense loss (before)", old_step),
                       ("classification, 1x1 head, gathered loss (now)", new_step)):
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        rows.append((name, (time.perf_counter() - t0) / a.steps * 1000))
    base = rows[0][1]
    print(f"{a.netG}, batch {a.batch}, {a.size} px, {a.threads} thread(s), {a.steps} steps\n")
    print("| generator step | ms | x baseline |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.0f} | {ms / base:.2f} |")


if __name__ == "__main__":
    main()
