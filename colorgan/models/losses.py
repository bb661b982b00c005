"""GAN objectives: vanilla (BCE with logits, Goodfellow et al. 2014), LSGAN (Mao et al. 2017,
arXiv:1611.04076) and hinge (Lim & Ye 2017, arXiv:1705.02894), with one-sided label smoothing
(Salimans et al. 2016, arXiv:1606.03498) for the discriminator's real targets."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

GAN_MODES = ("vanilla", "lsgan", "hinge")
REC_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


class GANLoss(nn.Module):
    def __init__(self, gan_mode: str = "vanilla", label_smoothing: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"model.gan_mode={gan_mode!r} is not supported; choose one of "
                             f"{list(GAN_MODES)}.")
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"model.label_smoothing={label_smoothing} must be in [0, 0.5).")
        self.gan_mode, self.label_smoothing = gan_mode, float(label_smoothing)

    def forward(self, pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
        """pred: (B, 1, h, w) logits. Smoothing only touches D's real targets (one-sided)."""
        if self.gan_mode == "hinge":
            if for_discriminator:
                return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
            return -pred.mean()
        value = 1.0 if target_is_real else 0.0
        if target_is_real and for_discriminator:
            value -= self.label_smoothing
        target = torch.full_like(pred, value)
        if self.gan_mode == "lsgan":
            return F.mse_loss(pred, target)
        return F.binary_cross_entropy_with_logits(pred, target)


def reconstruction_loss(name: str):
    if name not in REC_LOSSES:
        raise ValueError(f"model.rec_loss={name!r} is not supported; choose one of "
                         f"{list(REC_LOSSES)}.")
    return REC_LOSSES[name]
