"""Test-time augmentation (``model.tta_flip``, ``colorgan colorize --flip``): the generator's
prediction averaged with that of the horizontally flipped input, flipped back. Two generator
passes; training is unchanged. (One-pixel shift averaging, ``model.tta_shifts``, was retired:
+0.03 dB for 5-9x the passes, experiments/quality table 19, measured at commit 3359f4c.)
"""
from __future__ import annotations

from collections.abc import Callable

import torch


def tta_predict(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                flip: bool = False) -> torch.Tensor:
    """Generator input (B, C_in, H, W) -> output (B, C_out, H, W) in float32, with ``flip``
    the mean of the identity and the mirror image mapped back."""
    out = net(x).float()  # (B, C_out, H, W)
    if flip:
        out = 0.5 * (out + net(x.flip(-1)).float().flip(-1))
    return out
