"""``Predictor``: everything between the generator's output and the colour a user sees, in one
place for validation and test (``ColorizationGAN.colorize_batch``), ``eval.py``, ``colorgan
colorize`` (the Colorizer adds resizing and full-resolution finishing around it), ``colorgan
serve``, ONNX export and the experiments.

It owns the net whose colour is shown (the EMA weights when the checkpoint has them), flip
averaging (``model.tta_flip``), the annealed-mean temperature of a classification model, the
chroma gain and what it scales about (``model.chroma_gain``, ``model.chroma_center``), and the
decode to RGB (:mod:`colorgan.color`). Its input is the generator input ``g_in``
(B, C_in, H, W): the normalised L (or gray) first, then whatever extra channels the model was
trained with (the previous frame's ab in temporal mode, ...), passed through untouched.

torch only: no Lightning, Hydra, matplotlib or W&B, so a checkpoint colours photos in a
process that imports none of them (``tests/test_light_inference.py``).
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable

import torch

from colorgan.color import (
    ColorSpace,
    check_chroma_center,
    check_chroma_gain,
    denormalize_ab,
    denormalize_l,
    normalize_ab,
    scale_ab,
)
from colorgan.hints.encode import LOCAL_CHANNELS, palette_dim

# A hint model's colour near its points gives way to the points' propagation by Levin et al.
# 2004: weight HINT_MIX x exp(-d / (HINT_REACH x the long side)), d the distance to the nearest
# point (chosen on validation photos: experiments/hints)
HINT_MIX = 1.0
HINT_REACH = 0.125


def hint_channel() -> int:
    """Where a hint model's point planes start in g_in, from the end (:func:`colorgan.hints.
    encode.pack`: hint ab, mask, then the palette)."""
    return -(LOCAL_CHANNELS + palette_dim())


def near_points(mask: torch.Tensor, reach: float) -> torch.Tensor:
    """Hint mask (B, 1, H, W) -> exp(-d / (reach x max(H, W))) (B, 1, H, W), d the distance in
    pixels to the nearest hinted pixel (0 everywhere for an image without points)."""
    from scipy.ndimage import distance_transform_edt

    out = torch.zeros(mask.shape, dtype=torch.float32)
    scale = reach * max(mask.shape[-2:])
    for b in range(mask.shape[0]):
        hinted = (mask[b, 0] > 0.5).cpu().numpy()
        if hinted.any():
            d = torch.from_numpy(distance_transform_edt(~hinted)).float()  # (H, W)
            out[b, 0] = torch.exp(-d / scale)
    return out


def check_hint_mix(mix: float, option: str) -> float:
    """A number in [0, 1]: the share of Levin et al.'s fill in the colour of a photo with points."""
    try:
        value = float(mix)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(mix, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{option}={mix!r}: must be a number in [0, 1] (0: the model's colour "
                         f"alone, 1: Levin et al.'s fill of the points alone; default {HINT_MIX:g}).")
    return value


def flip_average(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                 flip: bool = False) -> torch.Tensor:
    """Generator input (B, C_in, H, W) -> output (B, C_out, H, W) in float32; with ``flip`` the
    mean of the identity and the horizontal mirror image mapped back (2 passes)."""
    out = net(x).float()  # (B, C_out, H, W)
    if flip:
        out = 0.5 * (out + net(x.flip(-1)).float().flip(-1))
    return out


class Predictor:
    """netG (a module, or any callable such as an onnxruntime session) plus its colour settings.

    >>> p = Predictor.from_hparams(netG, checkpoint["hyper_parameters"])
    >>> rgb = p.rgb(g_in)            # (B, C_in, H, W) -> (B, 3, H, W) in [0, 1]
    """

    def __init__(self, netG: Callable[[torch.Tensor], torch.Tensor], color_space: str = "lab",
                 flip: bool = False, chroma_gain: float = 1.0, chroma_center: str = "zero",
                 weights: str = "raw", amp_dtype: torch.dtype | None = None,
                 hint_channel: int | None = None, hint_mix: float = HINT_MIX) -> None:
        self.netG = netG
        self.cs = ColorSpace(color_space)
        self.flip = bool(flip)
        self.chroma_gain = check_chroma_gain(chroma_gain, "model.chroma_gain")
        self.chroma_center = check_chroma_center(chroma_center, "model.chroma_center")
        self.weights = weights  # "ema" when netG holds the averaged weights
        self.amp_dtype = amp_dtype  # autocast dtype of the generator pass (None: fp32)
        self.hint_channel = hint_channel  # g_in's first hint plane (hint models), else None
        self.hint_mix = check_hint_mix(hint_mix, "hint_mix")

    @classmethod
    def from_hparams(cls, netG, hp: dict, weights: str = "raw",
                     amp_dtype: torch.dtype | None = None) -> Predictor:
        """The settings a checkpoint's hyper-parameters ``hp`` hold (older ones: the defaults)."""
        hints = hp.get("hints") or {}
        channel = hint_channel() if hints.get("enabled") else None
        return cls(netG, hp.get("color_space", "lab"), bool(hp.get("tta_flip", False)),
                   hp.get("chroma_gain", 1.0), hp.get("chroma_center", "zero"), weights, amp_dtype,
                   channel, hints.get("mix", HINT_MIX))

    def settings(self) -> dict:
        """What a checkpoint stores of this predictor (its hyper-parameters' names)."""
        return {"tta_flip": self.flip, "chroma_gain": self.chroma_gain,
                "chroma_center": self.chroma_center}

    # --------------------------------------------------------------- settings
    def set_chroma_gain(self, gain: float, option: str = "chroma_gain") -> None:
        self.chroma_gain = check_chroma_gain(gain, option)

    def set_chroma_center(self, center: str, option: str = "chroma_center") -> None:
        self.chroma_center = check_chroma_center(center, option)

    @property
    def supports_temperature(self) -> bool:
        """Whether netG predicts colour bins (model.classification): a temperature applies."""
        return hasattr(self.netG, "bins") and hasattr(self.netG, "temperature")

    def set_temperature(self, temperature: float | None, option: str = "--temperature") -> None:
        """Annealed-mean temperature of a classification model (1 = mean, ~0.4 = vivid)."""
        if temperature is None:
            return
        if not self.supports_temperature:
            raise ValueError(f"{option} {temperature}: this model predicts colour directly; a "
                             "temperature needs a model trained with "
                             "model.classification.enabled=true.")
        if not float(temperature) > 0:
            raise ValueError(f"{option} {temperature}: must be > 0 (1 = mean, small = vivid).")
        self.netG.temperature = float(temperature)

    def with_temperature(self, temperature: float | None) -> Predictor:
        """A copy that shares the weights but decodes at ``temperature`` (concurrent requests
        with different settings, e.g. the web page's slider)."""
        if temperature is None:
            return self
        other = copy.copy(self)
        other.netG = copy.copy(self.netG)  # shares the modules; own temperature attribute
        other.set_temperature(temperature, "temperature")
        return other

    # ------------------------------------------------------------- prediction
    def _autocast(self, device: torch.device):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.amp_dtype)

    @torch.no_grad()
    def raw(self, g_in: torch.Tensor) -> torch.Tensor:
        """Generator input (B, C_in, H, W) -> its output (B, C_out, H, W) in float32, flip
        averaged, before the chroma gain (what calibration measures)."""
        with self._autocast(g_in.device):
            return flip_average(self.netG, g_in, self.flip)

    def gained(self, real_A: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """A raw output (B, C_out, H, W) with the chroma gain, in the model's output space."""
        return self.cs.scale_chroma(real_A, raw, self.chroma_gain, self.chroma_center)

    # real_A (B, 1, H, W): the L (or gray) channel; None: g_in's first channel
    def output(self, g_in: torch.Tensor, real_A: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C_in, H, W) -> the gained output (B, C_out, H, W): ab (Lab) or RGB in [-1, 1]."""
        real_A = g_in[:, :1] if real_A is None else real_A
        out = self.gained(real_A, self.raw(g_in))
        return self.mixed_with_levin(g_in, real_A, out) if self.cs.mode == "lab" else out

    def ab(self, g_in: torch.Tensor, real_A: torch.Tensor | None = None,
           gain: bool = True) -> torch.Tensor:
        """(B, C_in, H, W) -> the gained normalised ab (B, 2, H, W), whatever the colour space
        (the Colorizer recombines it with the full-resolution lightness). ``gain=False``: the
        colour is steered by hints (the gain is the automatic mode's knob)."""
        real_A = g_in[:, :1] if real_A is None else real_A
        ab = self.cs.chroma(real_A, self.raw(g_in))  # (B, 2, H, W)
        ab = scale_ab(ab, self.chroma_gain, self.chroma_center) if gain else ab
        return self.mixed_with_levin(g_in, real_A, ab)

    def mixed_with_levin(self, g_in: torch.Tensor, real_A: torch.Tensor,
                         ab: torch.Tensor) -> torch.Tensor:
        """Normalised ab (B, 2, H, W) of a photo with point hints mixed with the points'
        propagation by Levin et al. 2004, whose share fades with the distance to the points
        (``hint_mix`` at a point; hint models only, photos without points as predicted). The
        learned prior and the edge-aware fill err in different places: on validation photos
        the mix beats both (experiments/hints), and a point far away leaves the colour alone."""
        if self.hint_channel is None or self.hint_mix == 0.0:
            return ab
        planes = g_in[:, self.hint_channel:self.hint_channel + LOCAL_CHANNELS].float()
        mask = planes[:, 2:3]  # (B, 1, H, W)
        pointed = (mask > 0.5).flatten(1).any(1)  # (B,) photos with at least one point
        if not bool(pointed.any()):
            return ab
        from colorgan.hints.baselines import levin_fill  # scipy, only when points are given

        L = denormalize_l(real_A.float()).clamp(0.0, 100.0)  # (B, 1, H, W)
        fill = normalize_ab(levin_fill(L, denormalize_ab(planes[:, :2]), mask))  # (B, 2, H, W)
        w = self.hint_mix * near_points(mask, HINT_REACH).to(ab.device)  # (B, 1, H, W)
        return ((1.0 - w) * ab.float() + w * fill).to(ab.dtype)

    def rgb(self, g_in: torch.Tensor, real_A: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C_in, H, W) -> RGB (B, 3, H, W) in [0, 1] at the input's size."""
        real_A = g_in[:, :1] if real_A is None else real_A
        return self.cs.decode(real_A, self.output(g_in, real_A))


__all__ = ["HINT_MIX", "HINT_REACH", "Predictor", "check_hint_mix", "flip_average",
           "hint_channel", "near_points"]
