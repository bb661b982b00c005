"""Load a colorgan checkpoint into a ``Colorizer`` that colours frames of any size.

The generator runs at its training size (``hyper_parameters.train_image_size``); its chroma is
upsampled and recombined with the full-resolution luminance (the "low-res chroma, full-res
luma" trick of Zhang et al. 2016, arXiv:1603.08511), so outputs are as sharp as the input.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from colorgan.color import (
    ColorSpace,
    float_to_uint8,
    recombine_full_resolution,
    rgb_to_gray,
    rgb_to_lab_norm,
    uint8_to_float,
)
from colorgan.models.gan_module import build_generator
from colorgan.utils.config import check_targets

TEMPORAL_MODES = ("independent", "dependent", "smooth")


class CheckpointError(ValueError):
    """The checkpoint cannot be used: the message names the file and what to do."""


def pick_device(device: str | None = None) -> torch.device:
    """``None``/"auto": the GPU when there is one, the CPU otherwise."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is visible here; use --device cpu.")
    return dev


def _load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"--ckpt {path}: no such file. Pass the .ckpt written by training, "
                              "e.g. logs/train/runs/<run>/checkpoints/last.ckpt.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling/zip error means "not a checkpoint"
        raise CheckpointError(f"--ckpt {path} is not a readable PyTorch checkpoint "
                              f"({type(e).__name__}: {str(e).splitlines()[0][:200]}).") from None


@dataclass
class Prepared:
    """One batch of frames, ready for the generator."""

    L_full: torch.Tensor   # (B, 1, H, W) normalised L at the original size
    real_A: torch.Tensor   # (B, 1, s, s) generator input at the training size
    luma: torch.Tensor     # (B, 1, s, s) gray in [0, 1], for scene-cut detection


class Colorizer:
    """A generator rebuilt from a checkpoint, plus the pre/post-processing around it.

    >>> c = Colorizer.from_checkpoint("last.ckpt")
    >>> rgb = c.colorize(frames_uint8)   # (B, 3, H, W) uint8 -> (B, 3, H, W) uint8
    """

    def __init__(self, netG: torch.nn.Module, color_space: str, image_size: int,
                 temporal: bool = False, device: torch.device | str = "cpu",
                 precision: str = "auto") -> None:
        self.device = torch.device(device)
        self.netG = netG.to(self.device).eval()
        self.cs = ColorSpace(color_space)
        self.image_size = int(image_size)
        self.temporal = bool(temporal)  # generator takes cat(L, previous ab)
        if precision == "auto":
            precision = "bf16" if self.device.type == "cuda" else "fp32"
        dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if precision not in dtypes:
            raise ValueError(f"--precision {precision!r}: choose one of {list(dtypes)} or auto.")
        self.amp_dtype = dtypes[precision]

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None,
                        precision: str = "auto") -> Colorizer:
        path = Path(path)
        ckpt = _load_checkpoint(path)
        hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
        state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
        if not isinstance(hp, dict) or "netG" not in hp or not isinstance(state, dict):
            raise CheckpointError(f"--ckpt {path} is not a colorgan checkpoint (no netG "
                                  "hyper-parameters / state_dict). Use a .ckpt saved by "
                                  "`colorgan train`.")
        g_state = {k[len("netG."):]: v for k, v in state.items() if k.startswith("netG.")}
        if not g_state:
            raise CheckpointError(f"--ckpt {path} has no generator weights (netG.*).")
        check_targets(hp, f"--ckpt {path}")  # refuse foreign classes before building anything
        temporal = dict(hp.get("temporal") or {})
        netG = build_generator(hp["netG"], hp.get("color_space", "lab"), temporal)
        try:
            netG.load_state_dict(g_state)
        except RuntimeError as e:
            raise CheckpointError(f"--ckpt {path}: weights do not fit the generator described "
                                  f"in its hyper-parameters ({str(e).splitlines()[0]}).") from None
        size = hp.get("train_image_size") or 256
        return cls(netG, hp.get("color_space", "lab"), size, temporal.get("enabled", False),
                   pick_device(device), precision)

    def check_mode(self, mode: str, source: str = "--ckpt") -> None:
        """The temporal mode must match the generator's input channels (1, or 1 + 2)."""
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"--temporal {mode!r}: choose one of {list(TEMPORAL_MODES)}.")
        if mode == "dependent" and not self.temporal:
            raise CheckpointError(
                f"{source}: --temporal dependent needs a generator trained with the previous "
                "frame's colour (3 input channels, model=unet_gan_dependent); this one takes "
                "1 channel. Use --temporal independent or smooth.")
        if mode != "dependent" and self.temporal:
            raise CheckpointError(
                f"{source}: this generator takes the previous frame's colour (3 input channels); "
                f"--temporal {mode} gives it 1. Use --temporal dependent.")

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ----------------------------------------------------------------- steps
    @torch.no_grad()
    def prepare(self, frames: torch.Tensor) -> Prepared:
        """uint8 or float RGB (B, 3, H, W) -> full-res L and the resized generator input."""
        rgb = uint8_to_float(frames.to(self.device, non_blocking=True))  # (B, 3, H, W)
        L_full, _ = rgb_to_lab_norm(rgb)  # (B, 1, H, W)
        s = self.image_size
        small = F.interpolate(rgb, size=(s, s), mode="bilinear", antialias=True,
                              align_corners=False).clamp(0, 1)
        return Prepared(L_full, self.cs.encode_input(small), rgb_to_gray(small))

    @torch.no_grad()
    def predict_ab(self, real_A: torch.Tensor, prev_ab: torch.Tensor | None = None) -> torch.Tensor:
        """Generator input (B, 1, s, s) [+ previous ab (B, 2, s, s)] -> normalised ab (B, 2, s, s)."""
        x = real_A
        if self.temporal:
            if prev_ab is None:
                prev_ab = real_A.new_zeros(real_A.shape[0], 2, *real_A.shape[-2:])
            x = torch.cat([real_A, prev_ab.to(real_A.dtype)], dim=1)  # (B, 3, s, s)
        with self._autocast():
            fake_B = self.netG(x)
        return self.cs.chroma(real_A, fake_B.float())

    @torch.no_grad()
    def finish(self, L_full: torch.Tensor, ab_small: torch.Tensor) -> torch.Tensor:
        """Full-res L + small ab -> uint8 RGB (B, 3, H, W) on the CPU."""
        return float_to_uint8(recombine_full_resolution(L_full, ab_small)).cpu()

    def colorize(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames one by one (no temporal link): uint8 (B, 3, H, W) -> uint8 (B, 3, H, W)."""
        p = self.prepare(frames)
        return self.finish(p.L_full, self.predict_ab(p.real_A))


__all__ = ["TEMPORAL_MODES", "CheckpointError", "Colorizer", "Prepared", "pick_device"]
