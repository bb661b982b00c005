"""Simulated camera motion: a photo and the frame "before" it, for training film models on
photos (``data=folder data.pairs=true``).

Real film pairs are few (``data=video_frames`` needs colour films); a frame pair is simulated
from one photo as a small random affine move (pan, zoom, rotation) and a small exposure change,
which is what consecutive frames of a shot mostly differ by (the same kind of simulation as
Deep Exemplar-based Video Colorization's image-to-video augmentation, Zhang et al. CVPR 2019).
The warp comes from kornia; the previous frame is the *moved* one, the current frame the photo.
"""
from __future__ import annotations

import torch
from kornia.geometry.transform import get_affine_matrix2d, warp_affine

SHIFT = 0.04   # pan: up to this share of the side, each way
ZOOM = 0.04    # scale 1 +- this
ANGLE = 2.0    # rotation, degrees each way
LIGHT = 0.06   # exposure x (1 +- this)
NO_PREV = 0.1  # share of training pairs shown as a shot's first frame (no previous colour)


def simulated_previous(rgb: torch.Tensor, generator: torch.Generator | None = None
                       ) -> torch.Tensor:
    """Float RGB (B, 3, H, W) in [0, 1] -> the frames before them (B, 3, H, W): each moved by
    its own random affine warp and exposure change (``generator``: reproducible draws)."""
    B, _, H, W = rgb.shape
    u = lambda *s: (torch.rand(B, *s, generator=generator) * 2 - 1).to(rgb.device)  # noqa: E731
    translation = u(2) * SHIFT * torch.tensor([W, H], device=rgb.device)  # (B, 2)
    center = torch.tensor([(W - 1) / 2, (H - 1) / 2], device=rgb.device).expand(B, 2)
    scale = (1 + u(1) * ZOOM).expand(B, 2)  # (B, 2), the same zoom both ways
    M = get_affine_matrix2d(translation, center, scale, u() * ANGLE)[:, :2]  # (B, 2, 3)
    prev = warp_affine(rgb, M.to(rgb.dtype), (H, W), padding_mode="reflection")
    return (prev * (1 + u() * LIGHT).view(B, 1, 1, 1)).clamp(0, 1)


def simulated_pairs(rgb: torch.Tensor, training: bool, seed: int = 0) -> dict[str, torch.Tensor]:
    """A batch's ``prev_rgb`` (B, 3, H, W) and ``has_prev`` (B,): random while training; drawn
    from ``seed`` and the batch's pixels otherwise, so every validation pass sees the same."""
    gen = None
    if not training:
        gen = torch.Generator().manual_seed(seed + int(rgb[:, :, :4, :4].sum() * 1000) % 2**31)
    keep = torch.rand(rgb.shape[0], generator=gen) >= (NO_PREV if training else 0.0)
    return {"prev_rgb": simulated_previous(rgb, gen), "has_prev": keep.to(rgb.device)}


__all__ = ["ANGLE", "LIGHT", "NO_PREV", "SHIFT", "ZOOM", "simulated_pairs", "simulated_previous"]
