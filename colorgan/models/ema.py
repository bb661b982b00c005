"""``model.ema``: an exponential moving average of netG's weights for validation, the
checkpoint's inference and colorize (Polyak averaging; ``torch.optim.swa_utils.AveragedModel``).
The average is a sub-module of the LightningModule (``netG_ema.module.*`` in checkpoints)."""
from __future__ import annotations

import torch
from torch.optim.swa_utils import AveragedModel


def ema_with_warmup(decay: float):
    """EMA update with the usual warm-up: the decay after n updates is min(decay,
    (1 + n) / (10 + n)), so a short run's average is not dominated by the initial weights
    (a fixed 0.999 still gives them 74% of the weight after 300 steps)."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = ((1.0 + n) / (10.0 + n)).clamp(max=decay).to(averaged.dtype)  # on the device: no sync
        return averaged * d + current * (1.0 - d)
    return avg


def build_ema(netG: torch.nn.Module, cfg: dict | None) -> AveragedModel | None:
    """The averaged copy of ``netG`` that ``model.ema`` asks for, or None when it is off."""
    ema = dict(cfg or {})
    if not ema.get("enabled", False):
        return None
    decay = float(ema.get("decay", 0.999))
    if not 0.0 < decay < 1.0:
        raise ValueError(f"model.ema.decay={decay} must be in (0, 1), e.g. 0.999.")
    averaged = AveragedModel(netG, avg_fn=ema_with_warmup(decay), use_buffers=True)
    return averaged.requires_grad_(False)


__all__ = ["build_ema", "ema_with_warmup"]
