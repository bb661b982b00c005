"""Recipe switches that compose with every ColorizationGAN model (see conf/model/*.yaml):

- ``classification``: colour as classification over ab bins with class rebalancing and
  annealed-mean decoding (Zhang, Isola & Efros 2016, arXiv:1603.08511).
- ``pretrain_epochs``: reconstruction only first, then the adversarial phase (DeOldify's
  "NoGAN" idea); resumable, since the phase follows the epoch.
- ``ema``: an exponential moving average of netG's weights for validation, checkpoints'
  inference and colorize (Polyak averaging; torch.optim.swa_utils.AveragedModel).
- ``class_guidance``: an auxiliary classifier on netG's bottleneck, trained on the dataset's
  class labels (ChromaGAN, arXiv:1907.09837).
- ``r1_gamma``, ``spectral_norm``: discriminator stabilisers (:mod:`colorgan.models.regularizers`).
- ``tta_flip``: average the prediction with that of the horizontally flipped input
  (:mod:`colorgan.models.tta`).
- ``chroma_gain``: the prediction's chroma times a factor at inference (a saturation knob that
  works for every model; the way to compare recipes at equal colorfulness), about gray or, with
  ``chroma_center: image``, about each image's mean chroma (vibrance); ``chroma_target``
  calibrates that gain on the validation photos (:mod:`colorgan.models.calibration`).
- ``selection``: the checkpoint rule (:mod:`colorgan.selection`).
"""
from __future__ import annotations

import logging
import warnings

import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel

from colorgan.color import check_chroma_center, check_chroma_gain, uint8_to_float
from colorgan.models.calibration import GainCurve, calibrated_gain, check_chroma_target
from colorgan.models.color_classes import (
    BinnedGenerator,
    ClassRebalance,
    cached_prior,
    empirical_prior,
    soft_cross_entropy,
)
from colorgan.models.ddp import ddp
from colorgan.models.guidance import ClassGuidance
from colorgan.models.regularizers import apply_spectral_norm
from colorgan.models.retired import warn_retired
from colorgan.models.tta import tta_predict
from colorgan.selection import check_rule

log = logging.getLogger("colorgan")


def ema_with_warmup(decay: float):
    """EMA update with the usual warm-up: the decay after n updates is min(decay,
    (1 + n) / (10 + n)), so a short run's average is not dominated by the initial weights
    (a fixed 0.999 still gives them 74% of the weight after 300 steps)."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = ((1.0 + n) / (10.0 + n)).clamp(max=decay).to(averaged.dtype)  # on the device: no sync
        return averaged * d + current * (1.0 - d)
    return avg


class RecipeMixin:
    """The recipe switches' state and hooks; mixed into :class:`ColorizationGAN`."""

    def build_recipes(self, args: dict) -> None:
        self.classify = isinstance(self.netG, BinnedGenerator)
        if int(args["pretrain_epochs"]) < 0:
            raise ValueError(f"model.pretrain_epochs={args['pretrain_epochs']} must be >= 0.")
        if args["spectral_norm"] and self.netD is not None:
            apply_spectral_norm(self.netD)
        if float(args["r1_gamma"]) < 0:
            raise ValueError(f"model.r1_gamma={args['r1_gamma']} must be >= 0 (0 = off).")
        cls = dict(args["classification"] or {})
        self.rebalance: ClassRebalance | None = None
        if self.classify:  # the training set's colour prior, estimated at fit start
            self.register_buffer("color_prior", torch.zeros(self.netG.bins.num_bins))
            lam = cls.get("rebalance", 0.5)
            if lam is not None and not 0.0 <= float(lam) <= 1.0:
                raise ValueError(f"model.classification.rebalance={lam} must be in [0, 1] "
                                 "(0.5 in Zhang et al.) or null for no rebalancing.")
        ema = dict(args["ema"] or {})
        self.netG_ema = None
        if ema.get("enabled", False):
            decay = float(ema.get("decay", 0.999))
            if not 0.0 < decay < 1.0:
                raise ValueError(f"model.ema.decay={decay} must be in (0, 1), e.g. 0.999.")
            self.netG_ema = AveragedModel(self.netG, avg_fn=ema_with_warmup(decay),
                                          use_buffers=True)
            self.netG_ema.requires_grad_(False)
        self.guidance: ClassGuidance | None = None
        cg = dict(args["class_guidance"] or {})
        if cg.get("enabled", False) and cg.get("num_classes"):  # known: rebuilt from a checkpoint
            self.guidance = ClassGuidance(self.netG, int(cg["num_classes"]), cg.get("hidden", 256))
        self.selection = check_rule(args["selection"])
        target = check_chroma_target(args.get("chroma_target"))
        self.gain_curve = GainCurve() if target is not None else None

    # ---------------------------------------------------------------- setup
    def setup_class_guidance(self) -> None:
        """Build the classifier once the datamodule's classes are known (or warn it is off)."""
        cg = self.hparams.class_guidance
        if not (cg or {}).get("enabled", False) or self.guidance is not None:
            return
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        classes = getattr(dm, "classes", None)
        if not classes or len(classes) < 2:
            warnings.warn("model.class_guidance.enabled=true, but the dataset has no class labels "
                          f"({type(dm).__name__}); class guidance is off for this run. Use a "
                          "class-folder dataset (cifar10, landscapes, data=folder "
                          "data.class_labels=true).", stacklevel=2)
            return
        cg["num_classes"] = len(classes)  # saved with the hyper-parameters
        self.guidance = ClassGuidance(self.netG, len(classes), cg.get("hidden", 256))

    def setup_color_prior(self) -> None:
        """Estimate (or load from the cache) the training set's ab prior -> rebalance weights."""
        if not self.classify:
            return
        cls = dict(self.hparams.classification or {})
        if not bool(self.color_prior.sum() > 0):
            dm = self.trainer.datamodule
            data = dm.data_train
            n = min(len(data), int(cls.get("prior_images", 2000)))
            key = (f"{type(dm).__name__}|{getattr(dm, 'root', '')}|{dm.image_size}|{len(data)}|"
                   f"{n}|{cls.get('grid', 10.0)}")

            def compute() -> torch.Tensor:
                def batches(bs: int = 64):
                    for i in range(0, n, bs):
                        yield uint8_to_float(torch.stack([data[j]["rgb"]
                                                          for j in range(i, min(n, i + bs))]))
                return empirical_prior(batches(), self.netG.bins.cpu(), max_batches=10 ** 9)

            prior = cached_prior(cls.get("cache_dir"), key, compute)
            self.color_prior.copy_(prior.to(self.color_prior.device))
        lam = cls.get("rebalance", 0.5)
        self.rebalance = None if lam is None else ClassRebalance(
            self.color_prior.cpu(), self.netG.bins.centres.cpu(), float(lam),
            float(cls.get("sigma", 5.0))).to(self.device)

    # ------------------------------------------------------------- training
    def generate(self, g_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """netG pass -> (fake_B (B, C_out, H, W), bin logits (B, Q, H, W) or None)."""
        net = ddp(self, "netG")  # its DDP wrapper under gan_ddp
        if not self.classify:
            return net(g_in), None
        logits = net(g_in, return_logits=True)
        return self.netG.bins.decode(logits, self.netG.temperature), logits

    def sync_guidance_grads(self) -> None:
        """Under DDP the classifier head is outside netG's wrapper: average its gradients."""
        if self.guidance is None or not dist.is_available() or not dist.is_initialized():
            return
        world = dist.get_world_size()
        for p in self.guidance.parameters():
            if p.grad is not None and world > 1:
                dist.all_reduce(p.grad)
                p.grad /= world

    def adversarial_now(self) -> bool:
        """Whether the GAN terms are on this epoch (off during the reconstruction warm-up)."""
        return self.adversarial and self.current_epoch >= int(self.hparams.pretrain_epochs)

    def recipe_losses(self, logits: torch.Tensor | None, real_B: torch.Tensor,
                      batch: dict) -> dict[str, torch.Tensor]:
        """The extra generator terms, each already weighted: loss_G_cls, loss_G_class."""
        out: dict[str, torch.Tensor] = {}
        if self.classify and logits is not None:
            bins = self.netG.bins
            idx, wk = bins.encode(real_B)  # the k nearest bins and their weights (B, k, H, W)
            w = None if self.rebalance is None else self.rebalance(idx[:, 0])
            weight = float((self.hparams.classification or {}).get("weight", 1.0))
            out["loss_G_cls"] = soft_cross_entropy(logits, (idx, wk), w) * weight
        labels = batch.get("label") if self.guidance is not None else None
        if labels is not None:
            loss, acc = self.guidance.loss(labels.long())
            out["loss_G_class"] = loss * float(self.hparams.class_guidance.get("weight", 0.1))
            out["class_acc"] = acc
        return out

    def update_ema(self) -> None:
        if self.netG_ema is not None:
            self.netG_ema.update_parameters(self.netG)

    # ----------------------------------------------------------- inference
    def set_temperature(self, temperature: float, option: str = "temperature") -> None:
        """Annealed-mean temperature of a classification model (raw and EMA weights)."""
        if not self.classify:
            raise ValueError(f"{option}={temperature}: this model predicts ab directly; a "
                             "temperature needs model.classification.enabled=true.")
        if not float(temperature) > 0:
            raise ValueError(f"{option}={temperature} must be > 0 (1 = mean, small = vivid).")
        for net in (self.netG, self.eval_generator()):
            net.temperature = float(temperature)

    def set_chroma_gain(self, gain: float, option: str = "chroma_gain") -> None:
        """Chroma times ``gain`` for every photo in evaluation and the checkpoint's inference
        (1 = off)."""
        self.hparams.chroma_gain = check_chroma_gain(gain, option)

    def set_chroma_center(self, center: str, option: str = "chroma_center") -> None:
        """What the chroma gain scales about: ``zero`` (gray) or ``image`` (its mean chroma)."""
        self.hparams.chroma_center = check_chroma_center(center, option)

    def eval_generator(self) -> torch.nn.Module:
        """The weights used for validation, test and the checkpoint's inference."""
        return self.netG_ema.module if self.netG_ema is not None else self.netG

    def predict_raw(self, g_in: torch.Tensor) -> torch.Tensor:
        """Generator output for evaluation before the chroma gain: EMA weights and optional
        flip averaging (model.tta_flip)."""
        return tta_predict(self.eval_generator(), g_in, bool(self.hparams.tta_flip))

    def apply_gain(self, real_A: torch.Tensor, fake_B: torch.Tensor) -> torch.Tensor:
        """``model.chroma_gain`` about ``model.chroma_center`` (older checkpoints: neither)."""
        return self.cs.scale_chroma(real_A, fake_B, float(self.hparams.get("chroma_gain", 1.0)),
                                    self.hparams.get("chroma_center", "zero"))

    def predict(self, g_in: torch.Tensor) -> torch.Tensor:
        """Generator output for evaluation: EMA weights, flip averaging and chroma gain."""
        return self.apply_gain(g_in[:, :1], self.predict_raw(g_in))

    # ---------------------------------------------------------- calibration
    def calibrating(self) -> bool:
        """model.chroma_target is set and this validation is part of fitting (not the sanity
        check, not eval.py or a test split)."""
        t = self._trainer
        return (self.gain_curve is not None and t is not None and t.state.fn == "fit"
                and not t.sanity_checking)

    def update_gain_curve(self, real_A: torch.Tensor, raw_B: torch.Tensor,
                          real_rgb: torch.Tensor) -> None:
        """Record the validation batch's gain curve (when fitting)."""
        if self.calibrating():
            self.gain_curve.update(self.cs, real_A, raw_B, real_rgb,
                                   self.hparams.get("chroma_center", "zero"))

    def calibrate_chroma_gain(self) -> dict[str, float]:
        """End of a validation pass: ``val/chroma_gain`` (the gain this pass used) and, when
        fitting, model.chroma_gain <- the gain reaching the target
        (``val/chroma_gain_calibrated``)."""
        if self.gain_curve is None:
            return {}
        used = {"val/chroma_gain": float(self.hparams.chroma_gain)}
        if not self.calibrating() or not bool(self.gain_curve.count > 0):
            return used
        curve, truth = self.gain_curve.compute()
        self.gain_curve.reset()
        gain = calibrated_gain(self.gain_curve.gains, curve, float(truth),
                               float(self.hparams.chroma_target))
        self.hparams.chroma_gain = gain  # saved with the checkpoint: eval and colorize use it
        goal = float(self.hparams.chroma_target) * float(truth)
        # the last pass decides: early epochs are often too dull for any gain
        self._chroma_short = (float(curve[-1]), goal, float(truth)) if curve[-1] < goal else None
        return {**used, "val/chroma_gain_calibrated": gain}

    def warn_if_target_out_of_reach(self) -> None:
        """End of fitting: say so when the last calibration could not reach the target."""
        short = getattr(self, "_chroma_short", None)
        if short is None or self.global_rank != 0:
            return
        reached, goal, truth = short
        log.warning(
            "model.chroma_target=%s is out of reach: at the largest gain, %s, the validation "
            "colorfulness is %.1f, below %.1f (the target x the photos' %.1f); the checkpoint "
            "keeps the gain %s. The model predicts little colour: train longer, or lower "
            "model.chroma_target.", self.hparams.chroma_target, self.hparams.chroma_gain,
            reached, goal, truth, self.hparams.chroma_gain)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Resuming a calibrating run: keep the gain calibrated so far, not the config's. A
        checkpoint with retired switches on says which are ignored (Lightning passes only this
        class's arguments to it)."""
        warn_retired(checkpoint.get("hyper_parameters") or {}, "checkpoint")
        if self.hparams.get("chroma_target") is not None:
            saved = checkpoint.get("hyper_parameters") or {}
            if saved.get("chroma_gain") is not None:
                self.hparams.chroma_gain = float(saved["chroma_gain"])


__all__ = ["RecipeMixin"]
