"""``ColorizationGAN``: conditional GAN colorization in the pix2pix recipe
(Isola et al. 2017, arXiv:1611.07004), with Lightning manual optimization.

real_A: generator input (L or gray), real_B: colour target (ab or RGB), fake_B = netG(real_A);
the discriminator sees cat(real_A, B). ``adversarial: false`` is the regression-only baseline.
The colour shown is :class:`colorgan.predictor.Predictor`'s (``self.predictor``), as in eval.
"""
from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from colorgan.color import ColorSpace
from colorgan.hints.encode import pack
from colorgan.hints.simulate import hint_sampler
from colorgan.metrics import ColorMetrics
from colorgan.models import optim
from colorgan.models.build import build_generator  # noqa: F401  (re-exported)
from colorgan.models.calibration import ChromaCalibration, check_chroma_target
from colorgan.models.color_classes import (
    BinnedGenerator,
    ClassRebalance,
    soft_cross_entropy,
    training_prior,
)
from colorgan.models.ddp import ddp, rewrap
from colorgan.models.ema import build_ema
from colorgan.models.encoder_schedule import EncoderSchedule
from colorgan.models.guidance import guidance_for
from colorgan.models.losses import GANLoss, reconstruction_loss
from colorgan.models.optim import linear_decay, make_optimizer  # noqa: F401  (re-exported)
from colorgan.models.perceptual import build_perceptual
from colorgan.models.pretrained import weights_from_checkpoint
from colorgan.models.regularizers import apply_spectral_norm, r1_penalty
from colorgan.models.retired import warn_retired
from colorgan.predictor import Predictor
from colorgan.selection import check_rule, selection_score
from colorgan.utils import perf

PREV_SOURCES = ("gt", "self")
REC_SPACES = ("output", "rgb")  # where loss_G_rec compares: the net's output, or decoded RGB


def _plain(cfg: Any) -> Any:
    """DictConfig -> plain python containers (so hparams pickle and print cleanly)."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


class ColorizationGAN(pl.LightningModule):
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
        hints: dict | None = None,
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
        self.netG = build_generator(args["netG"], color_space, temporal, args["classification"],
                                    hints=args["hints"])
        self.hint_sampler = hint_sampler(args["hints"])  # model.hints: simulated in training
        self.eval_hints = None  # (batch, real_B) -> (planes, palette) for eval with hints
        self.encoder_schedule = EncoderSchedule(self.netG, args["encoder"])  # model.encoder
        self.adversarial = bool(adversarial)
        self.netD = None
        if self.adversarial:
            if netD is None:
                raise ValueError("model.adversarial=true needs a discriminator: set model/netD.")
            d_in = self.cs.in_channels + self.cs.out_channels  # conditional: cat(real_A, B)
            self.netD = instantiate(args["netD"], in_channels=d_in)
        if int(pretrain_epochs) < 0:
            raise ValueError(f"model.pretrain_epochs={pretrain_epochs} must be >= 0.")
        if float(r1_gamma) < 0:
            raise ValueError(f"model.r1_gamma={r1_gamma} must be >= 0 (0 = off).")
        if spectral_norm and self.netD is not None:
            apply_spectral_norm(self.netD)
        self.classify = isinstance(self.netG, BinnedGenerator)  # model.classification
        self.rebalance: ClassRebalance | None = None  # from the training set's prior, at fit start
        if self.classify:
            self.register_buffer("color_prior", torch.zeros(self.netG.bins.num_bins))
            lam = (args["classification"] or {}).get("rebalance", 0.5)
            if lam is not None and not 0.0 <= float(lam) <= 1.0:
                raise ValueError(f"model.classification.rebalance={lam} must be in [0, 1] "
                                 "(0.5 in Zhang et al.) or null for no rebalancing.")
        self.netG_ema = build_ema(self.netG, args["ema"])  # model.ema
        # model.class_guidance: built now from a checkpoint's num_classes, else at setup
        self.guidance = guidance_for(self.netG, self.hparams.class_guidance)
        self.selection = check_rule(selection)  # val/select
        target = check_chroma_target(chroma_target)
        self.calibration = None if target is None else ChromaCalibration(target)
        # the colour shown: EMA or raw weights, flip averaging, chroma gain (colorgan/predictor.py)
        self.predictor = Predictor.from_hparams(self.eval_generator(), args,
                                                "raw" if self.netG_ema is None else "ema")
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
        """float RGB batch -> (real_A (B,1,H,W), real_B (B,C,H,W), netG input (B,1[+2][+3+D],H,W))."""
        real_A, real_B = self.cs.encode(batch["rgb"])
        if not self.temporal:
            return real_A, real_B, self.with_hints(real_A, real_B, batch)
        prev_ab = torch.zeros_like(real_A).repeat(1, 2, 1, 1)  # (B, 2, H, W)
        if "prev_rgb" in batch:
            prev_A, prev_B = self.cs.encode(batch["prev_rgb"])
            if self.prev_source == "self" and self.training:
                # the model's own colour of the previous frame, in eval mode as at inference
                # (BatchNorm's running statistics do not move), without hints
                prev_in = torch.cat([prev_A, torch.zeros_like(prev_ab)], 1)
                if self.hint_sampler is not None:
                    prev_in = pack(prev_in)
                with torch.no_grad():
                    self.netG.eval()
                    try:
                        prev_ab = self.cs.chroma(prev_A, self.netG(prev_in))
                    finally:
                        self.netG.train()
            else:
                prev_ab = self.cs.chroma(prev_A, prev_B)
            has_prev = batch.get("has_prev")
            if has_prev is not None:  # first frame of a shot: no previous colour
                prev_ab = prev_ab * has_prev.view(-1, 1, 1, 1).to(prev_ab.dtype)
        return real_A, real_B, self.with_hints(torch.cat([real_A, prev_ab], dim=1), real_B, batch)

    def with_hints(self, g_in: torch.Tensor, real_B: torch.Tensor, batch: dict) -> torch.Tensor:
        """model.hints: simulated in training, else those of ``self.eval_hints`` or none."""
        if self.hint_sampler is None:
            return g_in
        if self.training:
            return pack(g_in, *self.hint_sampler(real_B))
        if self.eval_hints is not None:
            return pack(g_in, *self.eval_hints(batch, real_B))
        return pack(g_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.netG(x)

    def eval_generator(self) -> torch.nn.Module:
        """The weights used for validation, test and the checkpoint's inference."""
        return self.netG_ema.module if self.netG_ema is not None else self.netG

    def setup(self, stage: str) -> None:
        if self.guidance is None and self._trainer is not None:  # before the optimizers
            dm = getattr(self.trainer, "datamodule", None)
            self.guidance = guidance_for(self.netG, self.hparams.class_guidance, dm)
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

    def configure_callbacks(self) -> list[pl.Callback]:
        return [] if self.calibration is None else [self.calibration]  # model.chroma_target

    def on_fit_start(self) -> None:
        if not self.classify:
            return
        cls = dict(self.hparams.classification or {})  # class rebalancing (Zhang et al.)
        if not bool(self.color_prior.sum() > 0):  # not restored from a checkpoint
            prior = training_prior(self.trainer.datamodule, self.netG.bins, cls)
            self.color_prior.copy_(prior.to(self.color_prior.device))
        lam = cls.get("rebalance", 0.5)
        self.rebalance = None if lam is None else ClassRebalance(
            self.color_prior.cpu(), self.netG.bins.centres.cpu(), float(lam),
            float(cls.get("sigma", 5.0))).to(self.device)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """The predictor's settings (the calibrated chroma gain) go with the checkpoint."""
        checkpoint["hyper_parameters"].update(self.predictor.settings())

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Resuming a calibrating run keeps the gain calibrated so far; retired switches warn."""
        saved = checkpoint.get("hyper_parameters") or {}
        warn_retired(saved, "checkpoint")
        if self.calibration is not None and saved.get("chroma_gain") is not None:
            self.predictor.set_chroma_gain(saved["chroma_gain"], "checkpoint: chroma_gain")

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
        # inside opt.step(), after the AMP scaler has unscaled the gradients: true units
        if self.guidance is not None and optimizer is self.generator_optimizer().optimizer:
            self.guidance.sync_grads()  # gan_ddp: the head is outside netG's wrapper
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
        """loss_G_rec before lambda_rec: in the net's output space, or on the decoded RGB."""
        if self.hparams.get("rec_space", "output") == "rgb":
            return self.criterionRec(self.cs.decode(real_A, fake_B), self.cs.decode(real_A, real_B))
        return self.criterionRec(fake_B, real_B)

    def perceptual_loss(self, real_A: torch.Tensor, real_B: torch.Tensor,
                        fake_B: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss_G_perceptual": weighted VGG feature loss on the decoded RGB}, or {} when off."""
        if self.perceptual is None:
            return {}
        loss = self.perceptual(self.cs.decode(real_A, fake_B), self.cs.decode(real_A, real_B))
        return {"loss_G_perceptual": loss * float(self.hparams.lambda_perceptual)}

    def generate(self, g_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """netG pass -> (fake_B (B, C_out, H, W), bin logits (B, Q, H, W) or None)."""
        net = ddp(self, "netG")  # its DDP wrapper under gan_ddp
        if not self.classify:
            return net(g_in), None
        logits = net(g_in, return_logits=True)
        return self.netG.bins.decode(logits, self.netG.temperature), logits

    def adversarial_now(self) -> bool:
        """The GAN terms are off during model.pretrain_epochs (DeOldify's "NoGAN" warm-up)."""
        return self.adversarial and self.current_epoch >= int(self.hparams.pretrain_epochs)

    def extra_losses(self, logits: torch.Tensor | None, real_B: torch.Tensor,
                     batch: dict) -> dict[str, torch.Tensor]:
        """Weighted loss_G_cls (classification), loss_G_class and class_acc (class guidance)."""
        out: dict[str, torch.Tensor] = {}
        if self.classify and logits is not None:
            idx, wk = self.netG.bins.encode(real_B)  # the k nearest bins, weights (B, k, H, W)
            w = None if self.rebalance is None else self.rebalance(idx[:, 0])
            weight = float((self.hparams.classification or {}).get("weight", 1.0))
            out["loss_G_cls"] = soft_cross_entropy(logits, (idx, wk), w) * weight
        labels = batch.get("label") if self.guidance is not None else None
        if labels is not None:
            loss, acc = self.guidance.loss(labels.long())
            out["loss_G_class"] = loss * float(self.hparams.class_guidance.get("weight", 0.1))
            out["class_acc"] = acc
        return out

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
        extra = self.extra_losses(logits, real_B, batch)  # classification, class guidance
        extra.update(self.perceptual_loss(real_A, real_B, fake_B))
        loss_G = loss_G_GAN + loss_G_rec + sum(v for k, v in extra.items() if k.startswith("loss"))
        self._check_finite(loss_G=loss_G)
        self._step(opt_G, loss_G)
        if self.netG_ema is not None:
            self.netG_ema.update_parameters(self.netG)
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
        optim.step_schedulers(self)  # by hand under manual optimization (optim.py)

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def colorize_batch(self, batch: dict) -> dict[str, torch.Tensor]:
        """RGB batch -> gray input, generated and ground-truth RGB, each (B, 3, H, W) in [0, 1]."""
        real_A, _, g_in = self.prepare_batch(batch)
        return {"gray": self.cs.gray_rgb(real_A), "fake": self.predictor.rgb(g_in, real_A),
                "real": batch["rgb"].float().clamp(0, 1)}

    def _eval_step(self, batch: dict, metrics: ColorMetrics) -> dict:
        out = self.colorize_batch(batch)
        metrics.update(out["fake"], out["gray"], out["real"])
        return out

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self._eval_step(batch, self.val_metrics)
        if batch_idx == 0:
            n = self.hparams.num_samples
            self.val_samples = {k: v[:n].detach().float().cpu() for k, v in out.items()}

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_metrics.compute()
        metrics["val/select"] = selection_score(metrics, self.selection)  # checkpoint rule
        if self.calibration is not None:  # the gain every metric above was scored with
            metrics["val/chroma_gain"] = torch.tensor(self.predictor.chroma_gain)
        self.log_dict(metrics, prog_bar=False)
        self.log("val_psnr", self.val_metrics.model["psnr"].compute(), prog_bar=True, logger=False)
        self.val_metrics.reset()

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def configure_optimizers(self):
        return optim.configure(self)  # model.optimizer_G/D, model.scheduler_G/D (optim.py)


__all__ = ["ColorizationGAN", "build_generator", "linear_decay", "make_optimizer"]
