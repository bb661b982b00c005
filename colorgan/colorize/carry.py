"""Carrying a coloured reference frame through its shot.

A colorist colours one frame of a shot; every other frame of the shot gets that colour moved
to where the content went. Dense optical flow (DIS, Kroeger et al. 2016, "Fast Optical Flow
using Dense Inverse Search", OpenCV's implementation) maps each pixel of the frame to where it
was in the source frame, and the source's ab is sampled there:

- forwards from the reference (``anchor=False``): two sources, mixed per pixel in proportion
  to how well each one's warped lightness agrees with the frame's: the previous frame of the
  shot with the colour just carried to it (a chain of small motions, which flow follows well),
  and the reference itself (which still holds what an occluder covered, and does not drift).
  Measured on validation sequences (experiments/films): 30.03 dB, against 29.49 for taking the
  better source per pixel and 27.72 for the chain alone;
- backwards, frames of the shot before the reference (``anchor=True``): the source is the
  reference itself (the stream runs forwards and memory stays constant, so there is no chain).

Where the flow cannot be trusted (occlusions, content that enters the frame, lighting that
changes: the lightness warped from the source disagrees with the frame's own) the carried
colour gives way to a ``fill`` (the generator's colour, steered by the reference's palette):
``ab = conf * carried + (1 - conf) * fill``, ``conf = clip(1 - blur(|Y - warp(Y_src)|) / tau)``.
The fill is in the output only: the chain carries on with the carried colour (a fill that
went into the chain was carried on where it was wrong: -1.1 to -2.1 dB on validation).

Everything here runs at :func:`carry_size` (long side ``CARRY_SIDE``): chroma is smooth and the
flow is cheap there (a few ms a frame on a CPU core); the caller upsamples ab to the frame.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from colorgan.color import rgb_to_gray, rgb_to_lab_norm, uint8_to_float
from colorgan.hints.encode import palette

CARRY_SIDE = 256  # long side of the grid the colour is carried on
TAU = 0.08        # lightness disagreement (of 1) at which the carried colour is fully replaced
BLUR = 7          # the disagreement is averaged over this many pixels a side (noise, edges)
FLOW_PRESETS = ("ultrafast", "fast", "medium")  # OpenCV's DIS presets, fastest first
CHAIN_PRESET = 1  # the chain's small motions: "fast" (5x faster than medium; -0.02 dB on val)


def carry_size(height: int, width: int, side: int = CARRY_SIDE) -> tuple[int, int]:
    """(h, w) of the carrying grid for a frame: long side ``side`` (or less), aspect kept."""
    scale = min(1.0, side / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale))


def gray_u8(gray: torch.Tensor) -> np.ndarray:
    """Gray (1, 1, h, w) or (1, h, w) in [0, 1] -> uint8 (h, w) for the flow."""
    return (gray.reshape(gray.shape[-2:]).float().clamp(0, 1) * 255).round().byte().cpu().numpy()


def small_gray(gray: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Gray (B=1, 1, H, W) in [0, 1] at any size -> uint8 (h, w) at ``size``."""
    if tuple(gray.shape[-2:]) != tuple(size):
        gray = F.interpolate(gray.float(), size=size, mode="bilinear", antialias=True,
                             align_corners=False)
    return gray_u8(gray)


@functools.cache
def _cv2():
    """OpenCV, imported when a film is carried (not by ``import colorgan.colorize``); one
    thread: the decoder and the encoder of the film run beside it."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def _dis(preset: str):
    cv2 = _cv2()
    return cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))


def _remap(img: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    cv2 = _cv2()
    return cv2.remap(img, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class ShotCarrier:
    """One shot's reference frame and the colour carried from it, frame by frame.

    >>> carrier = ShotCarrier(ref_rgb)           # uint8 (3, H, W), the colorist's frame
    >>> ab, conf = carrier.step(gray, fill)      # gray uint8 (h, w) at carrier.size
    """

    def __init__(self, ref_rgb: torch.Tensor, tau: float = TAU, preset: str = "medium") -> None:
        if not tau > 0:
            raise ValueError(f"carry tau={tau!r}: must be > 0 (the lightness disagreement at "
                             "which the carried colour gives way).")
        if preset not in FLOW_PRESETS:
            raise ValueError(f"flow preset {preset!r}: choose one of {list(FLOW_PRESETS)}.")
        rgb = uint8_to_float(ref_rgb.reshape(1, 3, *ref_rgb.shape[-2:]).cpu())  # (1, 3, H, W)
        self.size = carry_size(*rgb.shape[-2:])
        small = F.interpolate(rgb, size=self.size, mode="bilinear", antialias=True,
                              align_corners=False).clamp(0, 1)
        self.ref_ab = rgb_to_lab_norm(small)[1]  # (1, 2, h, w)
        self.ref_gray = gray_u8(rgb_to_gray(small))  # (h, w) uint8
        self.tau = float(tau)
        self.flow = _dis(preset)  # from the reference: the larger motions, the finer preset
        self.chain_flow = _dis(FLOW_PRESETS[min(FLOW_PRESETS.index(preset), CHAIN_PRESET)])
        self.prev_gray, self.prev_ab = self.ref_gray, self.ref_ab
        h, w = self.size
        self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    @functools.cached_property
    def palette(self) -> torch.Tensor:
        """(1, D): the reference's global hint (built when a fill or a hint model asks)."""
        return palette(self.ref_ab)

    def at_reference(self) -> torch.Tensor:
        """The reference frame's own colour (1, 2, h, w); the chain restarts from it."""
        self.prev_gray, self.prev_ab = self.ref_gray, self.ref_ab
        return self.ref_ab

    def _carry(self, gray: np.ndarray, src_gray: np.ndarray, src_ab: torch.Tensor, dis
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``src``'s ab moved onto this frame by the flow ``dis``, and each pixel's confidence."""
        flow = dis.calc(gray, src_gray, None)  # (h, w, 2): this pixel came from +flow
        mx, my = self._grid[0] + flow[..., 0], self._grid[1] + flow[..., 1]
        ab_np = src_ab[0].permute(1, 2, 0).numpy().astype(np.float32)  # (h, w, 2)
        carried = torch.from_numpy(_remap(ab_np, mx, my)).permute(2, 0, 1)[None]  # (1, 2, h, w)
        h, w = self.size
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        diff = np.abs(gray.astype(np.float32) - _remap(src_gray, mx, my).astype(np.float32))
        diff = _cv2().blur(diff, (BLUR, BLUR)) / 255.0
        conf_np = np.clip(1.0 - diff / self.tau, 0.0, 1.0) * inside
        return carried, torch.from_numpy(conf_np.astype(np.float32))[None, None]  # (1, 1, h, w)

    def step(self, gray: np.ndarray, fill: torch.Tensor | None = None,
             anchor: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """This frame's gray uint8 (h, w) at ``self.size`` [+ the fill ab (1, 2, h', w')] ->
        (carried ab (1, 2, h, w), confidence (1, 1, h, w) in [0, 1]).

        ``anchor``: carry straight from the reference (frames before it), else from the
        previous frame (which this frame then becomes)."""
        if gray.shape != self.size:
            raise ValueError(f"carry: a gray frame of {gray.shape}, expected {self.size}.")
        if anchor:
            carried, conf = self._carry(gray, self.ref_gray, self.ref_ab, self.flow)
        else:
            chain, k_chain = self._carry(gray, self.prev_gray, self.prev_ab, self.chain_flow)
            direct, k_ref = self._carry(gray, self.ref_gray, self.ref_ab, self.flow)
            total = k_chain + k_ref  # (1, 1, h, w); both 0: neither is trusted, half each
            w = torch.where(total > 1e-6, k_ref / total.clamp_min(1e-6), torch.full_like(total, 0.5))
            carried, conf = (1.0 - w) * chain + w * direct, torch.maximum(k_chain, k_ref)
        if not anchor:  # the chain goes on with the carried colour, never with the fill's
            self.prev_gray, self.prev_ab = gray, carried
        if fill is None:
            return carried, conf
        fill = fill.float().cpu()
        if fill.shape[-2:] != carried.shape[-2:]:
            fill = F.interpolate(fill, size=self.size, mode="bilinear", align_corners=False)
        return conf * carried + (1.0 - conf) * fill, conf


__all__ = ["BLUR", "CARRY_SIDE", "FLOW_PRESETS", "TAU", "ShotCarrier", "carry_size", "gray_u8",
           "small_gray"]
