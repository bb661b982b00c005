"""Freeze, then unfreeze, a pretrained encoder (``model.encoder``), DeOldify's schedule (Antic
2019, after fastai's ``freeze``/``unfreeze``): the first ``freeze_epochs`` epochs train the
decoder only, then the encoder too, at ``lr_mult`` x the generator's learning rate. The state
follows the epoch (resumable); frozen is ``requires_grad=False`` (BatchNorm still adapts).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def encoder_of(netG: nn.Module) -> list[nn.Parameter] | None:
    """The pretrained encoder's parameters of ``netG`` (through a BinnedGenerator), or None."""
    net = getattr(netG, "net", netG)
    params = getattr(net, "encoder_parameters", None)
    return params() if callable(params) else None


class EncoderSchedule:
    """``model.encoder``: ``freeze_epochs`` (0: never frozen) and ``lr_mult`` (1: netG's lr)."""

    def __init__(self, netG: nn.Module, cfg: dict | None) -> None:
        cfg = dict(cfg or {})
        self.freeze_epochs = int(cfg.get("freeze_epochs") or 0)
        lr_mult = cfg.get("lr_mult")
        self.lr_mult = 1.0 if lr_mult is None else float(lr_mult)
        if self.freeze_epochs < 0:
            raise ValueError(f"model.encoder.freeze_epochs={self.freeze_epochs} must be >= 0 "
                             "(0: the encoder trains from the first epoch).")
        if self.lr_mult < 0:
            raise ValueError(f"model.encoder.lr_mult={self.lr_mult} must be >= 0 (e.g. 0.1: "
                             "the encoder learns at a tenth of model.optimizer_G.lr).")
        self.params = encoder_of(netG)
        if self.params is None and (self.freeze_epochs or self.lr_mult != 1.0):
            raise ValueError(f"model.encoder.freeze_epochs={self.freeze_epochs} / lr_mult="
                             f"{self.lr_mult} need a generator with a pretrained encoder: "
                             "model/netG=unet_timm (docs/pretrained.md); or leave them at 0 / 1.")

    def param_groups(self, params_G: list[nn.Parameter]) -> list[dict] | list[nn.Parameter]:
        """netG's parameters as two groups, the encoder last, or unchanged without one.
        Always two groups with an encoder, so checkpoints resume whatever ``lr_mult`` says."""
        if self.params is None:
            return params_G
        ids = {id(p) for p in self.params}
        return [{"params": [p for p in params_G if id(p) not in ids]},
                {"params": list(self.params)}]

    def scale_lr(self, optimizer: torch.optim.Optimizer) -> None:
        """The encoder group's lr = the other group's x ``lr_mult`` (before any scheduler)."""
        if self.params is not None:
            optimizer.param_groups[1]["lr"] = optimizer.param_groups[0]["lr"] * self.lr_mult

    def frozen_at(self, epoch: int) -> bool:
        return self.params is not None and epoch < self.freeze_epochs

    def apply(self, epoch: int) -> bool:
        """Set the encoder's ``requires_grad`` for ``epoch``; True when it changed."""
        if self.params is None:
            return False
        trainable = not self.frozen_at(epoch)
        changed = any(p.requires_grad != trainable for p in self.params)
        for p in self.params:
            p.requires_grad_(trainable)
        return changed


__all__ = ["EncoderSchedule", "encoder_of"]
