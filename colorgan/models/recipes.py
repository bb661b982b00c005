"""Recipe switches that compose with every ColorizationGAN model (see conf/model/*.yaml):

- ``classification``: colour as classification over ab bins with class rebalancing and
  annealed-mean decoding (Zhang, Isola & Efros 2016, arXiv:1603.08511).
- ``pretrain_epochs``: reconstruction only first, then the adversarial phase (DeOldify's
  "NoGAN" idea); resumable, since the phase follows the epoch.
- ``ema``: an exponential moving average of netG's weights for validation, checkpoints'
  inference and colorize (Polyak averaging; torch.optim.swa_utils.AveragedModel).
- ``class_guidance``: an auxiliary classifier on netG's bottleneck (ChromaGAN, arXiv:1907.09837).
- ``r1_gamma``, ``spectral_norm``: discriminator stabilisers (:mod:`colorgan.models.regularizers`).
- ``tta_flip``, ``tta_shifts``: average the prediction with that of the horizontally flipped
  input and of 4 or 8 one-pixel shifts (:mod:`colorgan.models.tta`).
- ``chroma_gain``: the prediction's chroma times a factor at inference (a saturation knob that
  works for every model; the way to compare recipes at equal colorfulness), about gray or, with
  ``chroma_center: image``, about each image's mean chroma (vibrance); ``chroma_target``
  calibrates that gain on the validation photos (:mod:`colorgan.models.calibration`);
  ``chroma_per_class`` calibrates a gain per photo from the class the guidance head predicts
  (``chroma_class_rule``: its class probabilities, or its most likely class;
  :mod:`colorgan.models.class_gain`).
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
from colorgan.models.class_gain import (
    ClassGainCurve,
    check_class_gains,
    check_class_rule,
    check_class_table,
    class_gains,
    photo_gains,
    posterior_gains,
    posterior_table,
)
from colorgan.models.color_classes import (
    BinnedGenerator,
    ClassRebalance,
    cached_prior,
    empirical_prior,
    soft_cross_entropy,
)
from colorgan.models.ddp import ddp
from colorgan.models.guidance import (
    COLOUR_EDGES,
    ClassGuidance,
    check_label_source,
    colour_labels,
)
from colorgan.models.regularizers import apply_spectral_norm
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
        check_label_source(cg.get("labels", "dataset"))
        if cg.get("enabled", False) and cg.get("labels", "dataset") == "colorfulness":
            cg["num_classes"] = len(COLOUR_EDGES) + 1  # any dataset: no classes to wait for
            self.hparams.class_guidance["num_classes"] = cg["num_classes"]
        if cg.get("enabled", False) and cg.get("num_classes"):  # known: rebuilt from a checkpoint
            self.guidance = ClassGuidance(self.netG, int(cg["num_classes"]), cg.get("hidden", 256),
                                          cg.get("detach", False))
        self.selection = check_rule(args["selection"])
        target = check_chroma_target(args.get("chroma_target"))
        self.gain_curve = GainCurve() if target is not None else None
        self.per_class = bool(args.get("chroma_per_class", False))
        if self.per_class and target is None:
            raise ValueError("model.chroma_per_class=true needs model.chroma_target (e.g. 0.92): "
                             "the per-class gains are calibrated on the validation photos.")
        if self.per_class and (args.get("temporal") or {}).get("enabled", False):
            raise ValueError("model.chroma_per_class=true does not work with model.temporal "
                             "(the previous frame's colour is fed back with one gain); set it "
                             "to false.")
        self.class_rule = check_class_rule(args.get("chroma_class_rule") or "posterior")
        check_class_gains(args.get("chroma_class_gains"), cg.get("num_classes"))
        check_class_table(args.get("chroma_class_table"), cg.get("num_classes"))
        self.class_gain_curve: ClassGainCurve | None = None
        self.setup_class_gain_curve()

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
        self.guidance = ClassGuidance(self.netG, len(classes), cg.get("hidden", 256),
                                      cg.get("detach", False))

    def setup_class_gain_curve(self) -> None:
        """model.chroma_per_class: the per-class calibration once the head exists (or a warning
        at fit time that one gain for all is calibrated instead)."""
        if self.per_class and self.guidance is not None and self.class_gain_curve is None:
            self.class_gain_curve = ClassGainCurve(self.guidance.head[-1].out_features)
        elif (self.per_class and self.guidance is None and self._trainer is not None
              and self._trainer.state.fn == "fit"):
            warnings.warn("model.chroma_per_class=true needs the class-guidance head "
                          "(model.class_guidance.enabled=true on a class-folder dataset); one "
                          "chroma gain for all photos is calibrated instead.", stacklevel=2)

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
        labels = self.guidance_labels(batch)
        if self.guidance is not None and labels is not None:
            loss, acc = self.guidance.loss(labels.long())
            out["loss_G_class"] = loss * float(self.hparams.class_guidance.get("weight", 0.1))
            out["class_acc"] = acc
        return out

    def guidance_labels(self, batch: dict) -> torch.Tensor | None:
        """The guidance head's classes of a batch (B,): the dataset's labels, or with
        model.class_guidance.labels=colorfulness each photo's colorfulness class; None when
        there are none."""
        if self.guidance is None:
            return None
        if (self.hparams.class_guidance or {}).get("labels", "dataset") == "colorfulness":
            return colour_labels(batch["rgb"])
        return batch.get("label")

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
        (1 = off); it replaces per-class gains."""
        self.hparams.chroma_gain = check_chroma_gain(gain, option)
        self.drop_class_gains()

    def drop_class_gains(self) -> None:
        self.hparams.chroma_class_gains = None
        self.hparams.chroma_class_table = None

    def has_class_gains(self) -> bool:
        """Per-class gains calibrated (either rule) and the head that picks them."""
        return self.guidance is not None and (self.hparams.get("chroma_class_gains") is not None
                                              or self.hparams.get("chroma_class_table") is not None)

    def set_chroma_per_class(self, on: bool, option: str = "chroma_per_class") -> None:
        """Use the checkpoint's per-class gains (true) or its one calibrated gain (false)."""
        if on and not self.has_class_gains():
            raise ValueError(f"{option}=true: this checkpoint has no per-class chroma gains; "
                             "train with model.chroma_per_class=true model.class_guidance."
                             "enabled=true, or leave it null.")
        if not on:
            self.drop_class_gains()

    def set_chroma_center(self, center: str, option: str = "chroma_center") -> None:
        """What the chroma gain scales about: ``zero`` (gray) or ``image`` (its mean chroma)."""
        self.hparams.chroma_center = check_chroma_center(center, option)

    def eval_generator(self) -> torch.nn.Module:
        """The weights used for validation, test and the checkpoint's inference."""
        return self.netG_ema.module if self.netG_ema is not None else self.netG

    def predict_raw(self, g_in: torch.Tensor) -> torch.Tensor:
        """Generator output for evaluation before the chroma gain: EMA weights and optional
        flip and shift averaging (model.tta_flip, model.tta_shifts).

        While fitting, the shifts (5-9x a pass) are averaged in the last epoch's validation
        only: the one whose chroma calibration the checkpoint keeps, so the saved gain fits
        the prediction that eval and colorize make."""
        shifts = int(self.hparams.get("tta_shifts") or 0)
        t = self._trainer
        if shifts and t is not None and t.state.fn == "fit" and not self.last_fit_epoch():
            shifts = 0
        return tta_predict(self.eval_generator(), g_in, bool(self.hparams.tta_flip), shifts)

    def last_fit_epoch(self) -> bool:
        t = self._trainer
        return t is not None and t.max_epochs is not None and t.current_epoch >= t.max_epochs - 1

    def predict_class_probs(self, g_in: torch.Tensor) -> torch.Tensor | None:
        """Each input's class probabilities (B, K) from the guidance head, when per-class gains
        are in use or being calibrated; else None. While fitting, only the last epoch's
        validation calibrates them (the per-class curve costs 2.4x the uniform one): earlier
        validations report with the one calibrated gain."""
        calibrating = (self.class_gain_curve is not None and self.calibrating()
                       and self.last_fit_epoch())
        if not (self.has_class_gains() or (calibrating and self.guidance is not None)):
            return None
        # the weights the head trained with
        return self.guidance.logits(self.netG, g_in).softmax(1)  # (B, K)

    def apply_gain(self, real_A: torch.Tensor, fake_B: torch.Tensor,
                   probs: torch.Tensor | None = None) -> torch.Tensor:
        """``model.chroma_gain`` about ``model.chroma_center`` (older checkpoints: neither), or
        with class probabilities ``probs`` (B, K) each photo's gain from
        ``model.chroma_class_table`` (posterior rule) or ``model.chroma_class_gains`` (argmax)."""
        table, per_class = (self.hparams.get(k) for k in ("chroma_class_table",
                                                           "chroma_class_gains"))
        gain: float | torch.Tensor = float(self.hparams.get("chroma_gain", 1.0))
        if probs is not None and (table is not None or per_class is not None):
            gain = photo_gains(probs, table, per_class)  # (B,)
        return self.cs.scale_chroma(real_A, fake_B, gain, self.hparams.get("chroma_center", "zero"))

    def predict(self, g_in: torch.Tensor) -> torch.Tensor:
        """Generator output for evaluation: EMA weights, flip averaging and chroma gain."""
        return self.apply_gain(g_in[:, :1], self.predict_raw(g_in), self.predict_class_probs(g_in))

    # ---------------------------------------------------------- calibration
    def calibrating(self) -> bool:
        """model.chroma_target is set and this validation is part of fitting (not the sanity
        check, not eval.py or a test split)."""
        t = self._trainer
        return (self.gain_curve is not None and t is not None and t.state.fn == "fit"
                and not t.sanity_checking)

    def update_gain_curve(self, real_A: torch.Tensor, raw_B: torch.Tensor,
                          real_rgb: torch.Tensor, probs: torch.Tensor | None = None,
                          labels: torch.Tensor | None = None) -> None:
        """Record the validation batch's gain curves: one gain for all, and with ``probs``
        (B, K) the per-class curves (posterior rule: by the true ``labels`` (B,))."""
        if not self.calibrating():
            return
        center = self.hparams.get("chroma_center", "zero")
        self.gain_curve.update(self.cs, real_A, raw_B, real_rgb, center)
        if self.class_gain_curve is None or probs is None:
            return
        if self.class_rule == "argmax":
            self.class_gain_curve.update(self.cs, real_A, raw_B, real_rgb, center, probs.argmax(1))
        else:
            if labels is None:  # a validation photo without a label counts for the colour only
                labels = torch.full(probs.shape[:1], -1, dtype=torch.long, device=probs.device)
            self.class_gain_curve.update(self.cs, real_A, raw_B, real_rgb, center,
                                         labels.long(), probs)

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
        return {**used, "val/chroma_gain_calibrated": gain, **self.calibrate_class_gains(gain)}

    def calibrate_class_gains(self, fallback: float) -> dict[str, float]:
        """model.chroma_per_class: the per-class gains reaching the target colour at the least
        validation PSNR (see class_gain.py), saved with the checkpoint: the posterior rule's
        table (model.chroma_class_table), or one gain per predicted class
        (model.chroma_class_gains)."""
        curve = self.class_gain_curve
        if curve is None or not bool(curve.images > 0):
            return {}
        psnr, colour, count, truth = (t.cpu() for t in curve.compute())
        goal = float(self.hparams.chroma_target) * float(truth)
        if self.class_rule == "argmax":
            curve.reset()
            gains, _ = class_gains(curve.gains, psnr, colour, count, goal, fallback)
            self.hparams.chroma_class_gains = gains
            return {"val/chroma_class_gain_min": min(gains), "val/chroma_class_gain_max": max(gains)}
        probs, img_colour = (t.cpu() for t in curve.per_image())
        curve.reset()
        if not bool(count.sum() > 0):
            warnings.warn("model.chroma_class_rule=posterior: the validation photos have no "
                          "class labels, so the per-class curves are empty; the checkpoint "
                          "keeps one gain for all. Use a class-folder dataset for validation.",
                          stacklevel=2)
            return {}
        table, lam, _ = posterior_table(psnr, colour, count, probs, img_colour, goal)
        self.hparams.chroma_class_table = table.tolist()  # unrounded: the decisions it made
        gains = posterior_gains(table, probs)  # (N,) the validation photos' gains
        return {"val/chroma_class_gain_min": float(gains.min()),
                "val/chroma_class_gain_max": float(gains.max()), "val/chroma_class_lambda": lam}

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
        """Resuming a calibrating run: keep the gain calibrated so far, not the config's."""
        if self.hparams.get("chroma_target") is not None:
            saved = checkpoint.get("hyper_parameters") or {}
            if saved.get("chroma_gain") is not None:
                self.hparams.chroma_gain = float(saved["chroma_gain"])
            for key in ("chroma_class_gains", "chroma_class_table"):
                if saved.get(key) is not None:
                    self.hparams[key] = list(saved[key])


__all__ = ["RecipeMixin"]
