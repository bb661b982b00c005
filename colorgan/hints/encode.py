"""Hints as generator inputs (Zhang, Zhu et al. 2017, "Real-Time User-Guided Image
Colorization with Learned Deep Priors", arXiv:1705.02999).

A hint-conditioned netG reads one tensor, so that EMA, flip averaging, DDP, compile and ONNX
export all see a plain ``netG(g_in)``:

    g_in = cat(real_A [, prev_ab], hint_ab, hint_mask, palette)     # (B, C + 3 + D, H, W)

- ``hint_ab`` (B, 2, H, W): normalised ab (ab / 110) of the hinted patches, 0 elsewhere;
- ``hint_mask`` (B, 1, H, W): 1 where a hint is given;
- ``palette`` (B, D, H, W): the global hint, constant over the image: a histogram of the
  reference's ab over the 76 in-gamut bins of a 20-unit grid, its mean saturation and a
  flag (1 = a reference is given). :class:`colorgan.models.hint_net.HintGenerator` reads it
  at one pixel and adds it at the bottleneck, as Zhang et al.'s global hints network does.
"""
from __future__ import annotations

import functools

import torch

from colorgan.color import normalize_ab

PALETTE_GRID = 20.0  # ab units per histogram bin: a palette, not a pixel copy
LOCAL_CHANNELS = 3  # hint_ab (2) + hint_mask (1)


@functools.lru_cache(maxsize=1)
def palette_bins() -> torch.Tensor:
    """(Q, 2) normalised ab centres of the palette histogram (Q = 76)."""
    from colorgan.models.color_classes import gamut_bins  # the gamut colorgan already has

    return normalize_ab(gamut_bins(PALETTE_GRID))


def palette_dim() -> int:
    """D: histogram bins + mean saturation + the 'given' flag."""
    return int(palette_bins().shape[0]) + 2


def palette(ab: torch.Tensor) -> torch.Tensor:
    """Normalised ab (B, 2, H, W) of a reference -> its global hint (B, D)."""
    centres = palette_bins().to(ab.device, torch.float32)  # (Q, 2)
    flat = ab.float().flatten(2).transpose(1, 2)  # (B, N, 2)
    nearest = torch.cdist(flat, centres[None].expand(flat.shape[0], -1, -1)).argmin(-1)  # (B, N)
    hist = torch.zeros(flat.shape[0], centres.shape[0], device=ab.device)
    hist.scatter_add_(1, nearest, torch.ones_like(nearest, dtype=hist.dtype))
    hist = hist / hist.sum(1, keepdim=True).clamp_min(1.0)
    saturation = flat.norm(dim=-1).mean(1, keepdim=True)  # (B, 1) mean chroma / 110
    return torch.cat([hist, saturation, torch.ones_like(saturation)], 1)


def no_palette(batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, D) zeros: no reference (the flag is 0)."""
    return torch.zeros(batch, palette_dim(), device=device)


def empty_planes(like: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) zeros for ``like`` (B, C, H, W): no point hints."""
    b, _, h, w = like.shape
    return torch.zeros(b, LOCAL_CHANNELS, h, w, device=like.device, dtype=like.dtype)


def patch_planes(ab: torch.Tensor, boxes: list[list[tuple[int, int, int, int]]]) -> torch.Tensor:
    """Simulated point hints: each box (y0, x0, y1, x1) of image i gets the mean of the true
    normalised ``ab`` (B, 2, H, W) over it, as Zhang et al. reveal the colour of a patch.
    -> (B, 3, H, W) hint planes."""
    planes = empty_planes(ab)
    for i, image_boxes in enumerate(boxes):
        for y0, x0, y1, x1 in image_boxes:
            planes[i, :2, y0:y1, x0:x1] = ab[i, :, y0:y1, x0:x1].float().mean((1, 2))[:, None, None]
            planes[i, 2, y0:y1, x0:x1] = 1.0
    return planes


def pack(g_in: torch.Tensor, planes: torch.Tensor | None = None,
         global_hint: torch.Tensor | None = None) -> torch.Tensor:
    """netG's input without hints (B, C, H, W) -> with them (B, C + 3 + D, H, W); missing
    parts are 'no hint' (zeros)."""
    b, _, h, w = g_in.shape
    planes = empty_planes(g_in) if planes is None else planes.to(g_in.dtype)
    glob = no_palette(b, g_in.device) if global_hint is None else global_hint
    glob = glob.to(g_in.device, g_in.dtype)[:, :, None, None].expand(-1, -1, h, w)
    return torch.cat([g_in, planes.to(g_in.device), glob], 1)


__all__ = ["LOCAL_CHANNELS", "PALETTE_GRID", "empty_planes", "no_palette", "pack", "palette",
           "palette_bins", "palette_dim", "patch_planes"]
