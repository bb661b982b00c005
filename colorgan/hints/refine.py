"""Edge-aware refinement of a hint model's colour at the user's points: the model's error at
the hinted pixels is propagated over the image by Levin, Lischinski & Weiss 2004 ("Colorization
using Optimization") and added to the model's ab, so the points are met exactly and their
correction spreads along the photo's edges, while the learned colour fills the rest.
"""
from __future__ import annotations

import torch

from colorgan.color import AB_SCALE, denormalize_l
from colorgan.hints.encode import LOCAL_CHANNELS

REFINES = ("none", "levin")


def check_refine(value: str, option: str = "hints.refine") -> str:
    if value not in REFINES:
        raise ValueError(f"{option}={value!r}: choose one of {list(REFINES)} (levin: the model's "
                         "error at the points propagated by Levin et al. 2004).")
    return value


def hint_base_channels(netG) -> int | None:
    """netG's input channels before the hint planes (a hint net), else None."""
    net = netG
    for _ in range(4):  # AveragedModel.module, BinnedGenerator.net, HintGenerator
        if hasattr(net, "base_channels"):
            return int(net.base_channels)
        net = getattr(net, "module", None) or getattr(net, "net", None)
        if net is None:
            return None
    return None


@torch.no_grad()
def refine_at_points(ab: torch.Tensor, g_in: torch.Tensor, real_A: torch.Tensor,
                     base: int) -> torch.Tensor:
    """The model's normalised ab (B, 2, H, W) -> refined so that it meets the hint planes of
    ``g_in`` (channels base..base+2) exactly, the correction spread by Levin et al."""
    from colorgan.hints.baselines import levin_fill

    planes = g_in[:, base:base + LOCAL_CHANNELS].float()  # (B, 3, H, W)
    mask = (planes[:, 2:3] > 0.5).float()
    if not bool(mask.any()):
        return ab
    # Levin's fill is linear in the hint values: half the error keeps it in the ab range
    error = (planes[:, :2] - ab.float()) * mask * (AB_SCALE / 2)  # (B, 2, H, W) in ab units
    L = denormalize_l(real_A.float()).clamp(0, 100)  # (B, 1, H, W)
    return ab + (levin_fill(L, error, mask) * (2 / AB_SCALE)).to(ab.dtype)


__all__ = ["REFINES", "check_refine", "hint_base_channels", "refine_at_points"]
