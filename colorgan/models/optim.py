"""``ColorizationGAN``'s optimizers and LR schedulers (``model.optimizer_G/D``,
``model.scheduler_G/D``, ``model.scheduler_monitor``), stepped by hand under manual
optimization: schedulers once per training epoch, ReduceLROnPlateau with the monitored metric
of that epoch's validation. The defaults (Adam, lr 2e-4, betas (0.5, 0.999): pix2pix) live in
conf/model/unet_gan.yaml only."""
from __future__ import annotations

import torch
from hydra.utils import instantiate
from pytorch_lightning.utilities import rank_zero_warn

from colorgan.utils import perf


def make_optimizer(cfg: dict | None, name: str, params, extra=None) -> torch.optim.Optimizer:
    """``model.optimizer_G/D`` (a ``_partial_`` factory) applied to ``params``; ``extra(factory)``
    may add keyword arguments (fused Adam)."""
    if not cfg:
        raise ValueError(
            f"model.{name} is not set: give a _partial_ optimizer factory, e.g. "
            f"{{_target_: torch.optim.Adam, _partial_: true, lr: 0.0002, betas: [0.5, 0.999]}} "
            "(the pix2pix default of conf/model/unet_gan.yaml, which every model config extends).")
    factory = instantiate(cfg)
    return factory(params=params, **(extra(factory) if extra is not None else {}))


def linear_decay(n_epochs: int, n_epochs_decay: int):
    """pix2pix 'linear' policy: constant lr for n_epochs, then linear decay to 0."""
    return lambda epoch: 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)


def configure(module):
    """What ``module.configure_optimizers`` returns: netG's optimizer (with the guidance head
    and the encoder's param group, model.encoder.lr_mult), netD's, and their schedulers."""
    h = module.hparams
    scaler = getattr(module.trainer.precision_plugin, "scaler", None) if module._trainer else None

    def build(cfg, name, params, groups=None):  # fused Adam on CUDA where supported
        return make_optimizer(cfg, name, params if groups is None else groups,
                              lambda f: perf.fused_kwargs(f, params, scaler is not None))

    params_G = list(module.netG.parameters())
    if module.guidance is not None:  # the auxiliary classifier trains with netG
        params_G += list(module.guidance.parameters())
    opt_G = build(h.optimizer_G, "optimizer_G", params_G,
                  module.encoder_schedule.param_groups(params_G))
    module.encoder_schedule.scale_lr(opt_G)  # model.encoder.lr_mult
    optimizers, schedulers = [opt_G], []
    if h.scheduler_G:
        schedulers.append(instantiate(h.scheduler_G)(optimizer=opt_G))
    if module.adversarial:
        opt_D = build(h.optimizer_D, "optimizer_D", list(module.netD.parameters()))
        optimizers.append(opt_D)
        if h.scheduler_D:
            schedulers.append(instantiate(h.scheduler_D)(optimizer=opt_D))
    return optimizers if not schedulers else (optimizers, schedulers)


def step_schedulers(module) -> None:
    """End of a training epoch: every scheduler steps; ReduceLROnPlateau with
    ``model.scheduler_monitor`` as this epoch's validation logged it."""
    schedulers = module.lr_schedulers()
    for s in (schedulers if isinstance(schedulers, list) else [schedulers]):
        if not isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if s is not None:
                s.step()
            continue
        name = module.hparams.get("scheduler_monitor", "val/psnr")
        value = module.trainer.callback_metrics.get(name)
        if value is None:  # no validation this epoch (check_val_every_n_epoch), or a typo
            rank_zero_warn(f"model.scheduler_monitor={name!r} was not logged this epoch "
                           f"(logged: {sorted(module.trainer.callback_metrics)}); "
                           "ReduceLROnPlateau was not stepped.")
            continue
        s.step(float(value))


__all__ = ["configure", "linear_decay", "make_optimizer", "step_schedulers"]
