"""``ColorizationGAN``: conditional GAN colorization in the pix2pix recipe
(Isola et al. 2017, arXiv:1611.07004), with Lightning manual optimization.

real_A: generator input (L or gray, plus the previous frame's chroma in temporal mode),
real_B: colour target (ab or RGB), fake_B = netG(real_A). The discriminator is conditional:
it sees cat(real_A, B). ``adversarial: false`` is the regression-only baseline (no netD).
"""
from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_warn

from colorgan.color import ColorSpace, check_chroma_center, check_chroma_gain
from colorgan.metrics import ColorMetrics
from colorgan.models.build import build_generator  # noqa: F401  (re-exported)
from colorgan.models.ddp import ddp, rewrap
from colorgan.models.encoder_schedule import EncoderSchedule
from colorgan.models.losses import GANLoss, reconstruction_loss
from colorgan.models.perceptual import build_perceptual
from colorgan.models.pretrained import weights_from_checkpoint
from colorgan.models.recipes import RecipeMixin
from colorgan.models.regularizers import r1_penalty
from colorgan.selection import selection_score
from colorgan.utils import perf

PREV_SOURCES = ("gt", "self")
REC_SPACES = ("output", "rgb")  # where loss_G_rec compares: the net's output, or decoded RGB


def _plain(cfg: Any) -> Any:
    """DictConfig -> plain python containers (so hparams pickle and print cleanly)."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


class ColorizationGAN(RecipeMixin, pl.LightningModule):
    def __init__(
        self,
        netG: dict,
        netD: dict | None = None,
        optimizer_G: dict | None = None,
        optimizer_D: dict | None = None,
        scheduler_G: dict | None = None,
        scheduler_D: dict | None = None,
        scheduler_monitor: str = "val/psnr",
        color_space: str = "lab",
        adversarial: bool = True,
        gan_mode: str = "vanilla",
        label_smoothing: float = 0.0,
        rec_loss: str = "l1",
        lambda_rec: float = 100.0,
        rec_space: str = "output",
        lambda_perceptual: float = 0.0,
        perceptual: dict | None = None,
        d_steps_per_g_step: int = 1,
        grad_clip: float = 0.0,
        temporal: dict | None = None,
        num_samples: int = 8,
        train_image_size: int | None = None,
        classification: dict | None = None,
        pretrain_epochs: int = 0,
        ema: dict | None = None,
        class_guidance: dict | None = None,
        r1_gamma: float = 0.0,
        spectral_norm: bool = False,
        tta_flip: bool = False,
        chroma_gain: float = 1.0,
        chroma_center: str = "zero",
        chroma_target: float | None = None,
        selection: dict | None = None,
        compile: bool | None = None,
        channels_last: bool | None = None,
        encoder: dict | None = None,
    ) -> None:
        super().__init__()
        args = {k: _plain(v) for k, v in locals().items() if k not in ("self", "__class__")}
        self.save_hyperparameters(args, logger=False)
        self.automatic_optimization = False
        if int(d_steps_per_g_step) < 1:
            raise ValueError(f"model.d_steps_per_g_step={d_steps_per_g_step} must be >= 1.")
        temporal = dict(args["temporal"] or {})
        if temporal.get("enabled", False) and temporal.get("prev_source", "gt") not in PREV_SOURCES:
            raise ValueError(f"model.temporal.prev_source={temporal.get('prev_source')!r}: "
                             f"choose one of {list(PREV_SOURCES)}.")
        self.temporal = temporal.get("enabled", False)
        self.prev_source = temporal.get("prev_source", "gt")
        self.cs = ColorSpace(color_space)
        check_chroma_gain(chroma_gain, "model.chroma_gain")
        check_chroma_center(chroma_center, "model.chroma_center")
        self.netG = build_generator(args["netG"], color_space, temporal, args["classification"])
        self.encoder_schedule = EncoderSchedule(self.netG, args["encoder"])  # model.encoder
        self.adversarial = bool(adversarial)
        self.netD = None
        if self.adversarial:
            if netD is None:
                raise ValueError("model.adversarial=true needs a discriminator: set model/netD.")
            d_in = self.cs.in_channels + self.cs.out_channels  # conditional: cat(real_A, B)
            self.netD = instantiate(args["netD"], in_channels=d_in)
        self.build_recipes(args)  # classification, EMA, class guidance, stabilisers, selection
        self.criterionGAN = GANLoss(gan_mode, label_smoothing)
        self.criterionRec = reconstruction_loss(rec_loss)
        if rec_space not in REC_SPACES:
            raise ValueError(f"model.rec_space={rec_space!r} is not supported; choose one of "
                             f"{list(REC_SPACES)} (output: the net's own output, ab in Lab; rgb: "
                             "the decoded RGB, what PSNR measures).")
        # VGG16-bn feature loss on the decoded RGB; not a sub-module (kept out of checkpoints)
        self.perceptual = build_perceptual(lambda_perceptual, args["perceptual"])
        self.val_metrics = ColorMetrics("val/")
        self.test_metrics = ColorMetrics("test/")
        self.val_samples: dict[str, torch.Tensor] | None = None
        self.finite_guard = perf.FiniteGuard()

    # ------------------------------------------------------------------ data
    def prepare_batch(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """float RGB batch -> (real_A (B,1,H,W), real_B (B,C,H,W), netG input (B,1[+2],H,W))."""
        real_A, real_B = self.cs.encode(batch["rgb"])
        if not self.temporal:
            return real_A, real_B, real_A
        prev_ab = torch.zeros_like(real_A).repeat(1, 2, 1, 1)  # (B, 2, H, W)
        if "prev_rgb" in batch:
            prev_A, prev_B = self.cs.encode(batch["prev_rgb"])
            if self.prev_source == "self" and self.training:
                # the model's own colorization of the previous frame, in eval mode as at
                # inference: this extra pass must not move BatchNorm's running statistics
                with torch.no_grad():
                    zeros = torch.zeros_like(prev_ab)
                    self.netG.eval()
                    try:
                        prev_ab = self.cs.chroma(prev_A, self.netG(torch.cat([prev_A, zeros], 1)))
                    finally:
                        self.netG.train()
            else:
                prev_ab = self.cs.chroma(prev_A, prev_B)
            has_prev = batch.get("has_prev")
            if has_prev is not None:  # first frame of a shot: no previous colour
                prev_ab = prev_ab * has_prev.view(-1, 1, 1, 1).to(prev_ab.dtype)
        return real_A, real_B, torch.cat([real_A, prev_ab], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.netG(x)

    def setup(self, stage: str) -> None:
        self.setup_class_guidance()  # needs the datamodule's classes; before the optimizers
        if stage == "fit" and self.perceptual is not None:
            self.perceptual.load()  # VGG16-bn weights: a missing file or no internet fails here

    @classmethod
    def load_from_checkpoint(cls, *args, **kwargs):
        """The checkpoint holds every weight: a pretrained encoder is not downloaded again."""
        with weights_from_checkpoint():
            return super().load_from_checkpoint(*args, **kwargs)

    def on_train_epoch_start(self) -> None:
        if self.encoder_schedule.apply(self.current_epoch):  # model.encoder.freeze_epochs
            rewrap(self, "netG")  # gan_ddp: reduce the parameters that train now

    def on_fit_start(self) -> None:
        self.setup_color_prior()  # classification: class-rebalancing weights

    def on_fit_end(self) -> None:
        self.warn_if_target_out_of_reach()  # model.chroma_target: judged on the last validation

    # -------------------------------------------------------------- training
    def _check_finite(self, **losses: torch.Tensor) -> None:
        self.finite_guard.update(self.global_step, losses)  # on the device: no host sync
        if not perf.on_cuda(self.device):  # CPU: reading back is free, check at once
            self.finite_guard.check(self.current_epoch)

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if (batch_idx + 1) % max(1, self.trainer.log_every_n_steps) == 0 or self.trainer.is_last_batch:
            self.finite_guard.check(self.current_epoch)  # GPU: one read per logging interval

    def on_validation_start(self) -> None:  # before any checkpoint of this epoch is saved
        self.finite_guard.check(self.current_epoch)

    def generator_optimizer(self):
        """netG's optimizer: the first of two, or the only one (regression: no netD)."""
        opts = self.optimizers()
        return opts[0] if isinstance(opts, (list, tuple)) else opts

    def _step(self, opt, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()  # clipping: on_before_optimizer_step

    def on_before_optimizer_step(self, optimizer) -> None:
        # Lightning calls this inside opt.step() after the AMP scaler has unscaled the
        # gradients (16-mixed), so the norm is clipped in true units
        if self.guidance is not None and optimizer is self.generator_optimizer().optimizer:
            self.sync_guidance_grads()  # gan_ddp: the head is outside netG's wrapper
        if self.hparams.grad_clip > 0:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.grad_clip,
                                gradient_clip_algorithm="norm")

    def discriminator_loss(self, real_A, real_B, fake_B) -> dict[str, torch.Tensor]:
        netD = ddp(self, "netD")  # its DDP wrapper under gan_ddp: loss_D reduces netD's grads
        pred_fake = netD(torch.cat([real_A, fake_B.detach()], 1))  # (B, 1, h, w)
        real_in = torch.cat([real_A, real_B], 1)
        gamma = float(self.hparams.r1_gamma)
        if gamma > 0:
            real_in = real_in.detach().requires_grad_(True)
        pred_real = netD(real_in)
        loss_D_fake = self.criterionGAN(pred_fake, False, for_discriminator=True)
        loss_D_real = self.criterionGAN(pred_real, True, for_discriminator=True)
        out = {"loss_D": 0.5 * (loss_D_fake + loss_D_real), "loss_D_real": loss_D_real,
               "loss_D_fake": loss_D_fake}
        if gamma > 0:  # R1 on real data (Mescheder et al. 2018)
            out["loss_D_R1"] = r1_penalty(pred_real, real_in)
            out["loss_D"] = out["loss_D"] + gamma * out["loss_D_R1"]
        return out

    def reconstruction(self, real_A: torch.Tensor, real_B: torch.Tensor,
                       fake_B: torch.Tensor) -> torch.Tensor:
        """loss_G_rec before lambda_rec: in the net's output space, or (model.rec_space=rgb) on
        the RGB decoded with the input's lightness, where PSNR is measured."""
        if self.hparams.get("rec_space", "output") == "rgb":
            return self.criterionRec(self.cs.decode(real_A, fake_B), self.cs.decode(real_A, real_B))
        return self.criterionRec(fake_B, real_B)

    def perceptual_loss(self, real_A: torch.Tensor, real_B: torch.Tensor,
                        fake_B: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss_G_perceptual": lambda_perceptual x the VGG feature loss on the RGB decoded
        with the input's lightness}, or {} when model.lambda_perceptual=0."""
        if self.perceptual is None:
            return {}
        loss = self.perceptual(self.cs.decode(real_A, fake_B), self.cs.decode(real_A, real_B))
        return {"loss_G_perceptual": loss * float(self.hparams.lambda_perceptual)}

    def training_step(self, batch: dict, batch_idx: int) -> None:
        real_A, real_B, g_in = self.prepare_batch(batch)
        fake_B, logits = self.generate(g_in)  # (B, C_out, H, W), bin logits or None
        logs: dict[str, torch.Tensor] = {}
        if self.adversarial_now():
            opt_G, opt_D = self.optimizers()
            self.toggle_optimizer(opt_D)  # only D's parameters require grad
            for _ in range(self.hparams.d_steps_per_g_step):
                d = self.discriminator_loss(real_A, real_B, fake_B)
                self._check_finite(**d)
                self._step(opt_D, d["loss_D"])
            self.untoggle_optimizer(opt_D)
            logs.update(d)
            self.toggle_optimizer(opt_G)  # D is frozen during the G step
            loss_G_GAN = self.criterionGAN(self.netD(torch.cat([real_A, fake_B], 1)), True,
                                           for_discriminator=False)
        else:  # regression baseline, or the reconstruction warm-up (model.pretrain_epochs)
            opt_G = self.generator_optimizer()
            loss_G_GAN = torch.zeros((), device=fake_B.device)
        loss_G_rec = self.reconstruction(real_A, real_B, fake_B) * self.hparams.lambda_rec
        extra = self.recipe_losses(logits, real_B, batch)  # classification, class guidance
        extra.update(self.perceptual_loss(real_A, real_B, fake_B))
        loss_G = loss_G_GAN + loss_G_rec + sum(v for k, v in extra.items() if k.startswith("loss"))
        self._check_finite(loss_G=loss_G)
        self._step(opt_G, loss_G)
        self.update_ema()
        if self.adversarial_now():
            self.untoggle_optimizer(opt_G)
        logs.update(loss_G_GAN=loss_G_GAN, loss_G_rec=loss_G_rec, loss_G=loss_G, **extra)
        self.log_dict({f"train/{k}": v.detach() for k, v in logs.items()}, prog_bar=False,
                      on_step=True, on_epoch=True, batch_size=real_A.shape[0])
        self.log("loss_G", loss_G.detach(), prog_bar=True, logger=False, batch_size=real_A.shape[0])

    def configure_model(self) -> None:
        """The fast GPU path (model.channels_last, model.compile: null = on for CUDA)."""
        device = self._trainer.strategy.root_device if self._trainer is not None else self.device
        if perf.resolve(self.hparams.get("channels_last"), device):
            perf.to_channels_last(self.netG, self.netD)
        if perf.resolve(self.hparams.get("compile"), device):
            perf.compile_nets(self.netG, self.netD)

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for s in (schedulers if isinstance(schedulers, list) else [schedulers]):
            if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self._step_on_plateau(s)
            elif s is not None:
                s.step()

    def _step_on_plateau(self, scheduler) -> None:
        """ReduceLROnPlateau steps with the monitored metric of this epoch's validation."""
        name = self.hparams.get("scheduler_monitor", "val/psnr")
        value = self.trainer.callback_metrics.get(name)
        if value is None:  # no validation this epoch (check_val_every_n_epoch), or a typo
            rank_zero_warn(f"model.scheduler_monitor={name!r} was not logged this epoch "
                           f"(logged: {sorted(self.trainer.callback_metrics)}); "
                           "ReduceLROnPlateau was not stepped.")
            return
        scheduler.step(float(value))

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def colorize_batch(self, batch: dict) -> dict[str, torch.Tensor]:
        """RGB batch -> gray input, generated and ground-truth RGB, each (B, 3, H, W) in [0, 1]."""
        real_A, real_B, g_in = self.prepare_batch(batch)
        raw_B = self.predict_raw(g_in)  # EMA weights and flip averaging when switched on
        self.update_gain_curve(real_A, raw_B, batch["rgb"])  # when fitting
        fake_B = self.apply_gain(real_A, raw_B)
        return {"gray": self.cs.gray_rgb(real_A), "fake": self.cs.decode(real_A, fake_B),
                "real": batch["rgb"].float().clamp(0, 1)}

    def _eval_step(self, batch: dict, batch_idx: int, metrics: ColorMetrics) -> dict:
        out = self.colorize_batch(batch)
        metrics.update(out["fake"], out["gray"], out["real"])
        return out

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self._eval_step(batch, batch_idx, self.val_metrics)
        if batch_idx == 0:
            n = self.hparams.num_samples
            self.val_samples = {k: v[:n].detach().float().cpu() for k, v in out.items()}

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_metrics.compute()
        metrics["val/select"] = selection_score(metrics, self.selection)  # checkpoint rule
        metrics.update(self.calibrate_chroma_gain())  # model.chroma_target: the next gain
        self.log_dict(metrics, prog_bar=False)
        self.log("val_psnr", self.val_metrics.model["psnr"].compute(), prog_bar=True, logger=False)
        self.val_metrics.reset()

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, batch_idx, self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    # ------------------------------------------------------------ optimizers
    def configure_optimizers(self):
        h = self.hparams
        params_G = list(self.netG.parameters())
        if self.guidance is not None:  # the auxiliary classifier trains with netG
            params_G += list(self.guidance.parameters())
        opt_G = self._optimizer(h.optimizer_G, "optimizer_G", params_G,
                                self.encoder_schedule.param_groups(params_G))
        self.encoder_schedule.scale_lr(opt_G)  # model.encoder.lr_mult
        optimizers, schedulers = [opt_G], []
        if h.scheduler_G:
            schedulers.append(instantiate(h.scheduler_G)(optimizer=opt_G))
        if self.adversarial:
            opt_D = self._optimizer(h.optimizer_D, "optimizer_D", list(self.netD.parameters()))
            optimizers.append(opt_D)
            if h.scheduler_D:
                schedulers.append(instantiate(h.scheduler_D)(optimizer=opt_D))
        return optimizers if not schedulers else (optimizers, schedulers)

    def _optimizer(self, cfg: dict | None, name: str, params: list, groups: list | None = None):
        """``model.<name>`` applied to ``params`` (as ``groups`` when given); fused Adam on
        CUDA where supported."""
        scaler = getattr(self.trainer.precision_plugin, "scaler", None) if self._trainer else None
        return make_optimizer(cfg, name, params if groups is None else groups,
                              lambda factory: perf.fused_kwargs(factory, params, scaler is not None))


def make_optimizer(cfg: dict | None, name: str, params, extra=None) -> torch.optim.Optimizer:
    """``model.optimizer_G/D`` (a ``_partial_`` factory) applied to ``params``; ``extra(factory)``
    may add keyword arguments (fused Adam).
    The defaults (Adam, lr 2e-4, betas (0.5, 0.999)) live in conf/model/unet_gan.yaml only."""
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


__all__ = ["ColorizationGAN", "build_generator", "linear_decay", "make_optimizer"]
