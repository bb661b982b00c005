"""Time of one generator training step (forward, loss, backward) for colour classification:
the old output layout (a 4x4 transposed conv straight to the 261 logits, dense soft targets)
against the 1x1 head with the loss gathered at the 5 non-zero bins, with the regression
generator (2 outputs, L1) as the baseline row, all in one run.

    python benchmarks/classification_step.py                 # unet_64, batch 16, 64 px, CPU
    python benchmarks/classification_step.py --threads 2 --steps 10
"""
from __future__ import annotations

import torch
from step_timing import netG_config, step_args, time_steps

from colorgan.models.color_classes import ColorBins, soft_cross_entropy
from colorgan.models.gan_module import build_generator


def main() -> None:
    a = step_args(__doc__)
    cfg = netG_config(a.netG)
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

    time_steps(a, [("regression (2 outputs, L1): baseline", reg_step),
                   ("classification, 4x4 conv to 261 logits, dense loss (before)", old_step),
                   ("classification, 1x1 head, gathered loss (now)", new_step)])


if __name__ == "__main__":
    main()
