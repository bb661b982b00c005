"""Chroma-gain calibration (``model.chroma_target``): the inference gain that makes the model's
colour on the validation photos a set fraction of their true colorfulness.

Regression models predict the conditional mean (or median) and come out dull by a factor that
depends on the data: the same L1 + EMA + crops recipe needs chroma x 2 on 64 px scene photos
and x 4 on CIFAR-10 (experiments/quality, tables 8-9). A fixed ``model.chroma_gain`` does not
transfer; a target colorfulness does. During fitting, every validation pass measures the Hasler-Suesstrunk
colorfulness of the ungained prediction at a grid of gains (about ``model.chroma_center``) and of
the ground truth; at the epoch's end ``model.chroma_gain`` becomes the smallest gain whose mean
colorfulness reaches ``chroma_target`` x the truth's (linear interpolation between grid points).
Each validation of ``trainer.fit`` first calibrates on its own weights, in one extra generator
pass over the validation split (:class:`ChromaCalibration`, before the validation loop), then
scores every metric, ``val/select`` included, with that gain; the checkpoints saved after it
store that same gain (``hyper_parameters.chroma_gain``), so eval and ``colorgan colorize`` see
what the checkpoint rule saw, and the last checkpoint has the gain of the last validation that
ran (however fitting stopped: max_epochs, max_steps, max_time, early stopping). Test splits are
never used: calibration runs only inside ``trainer.fit``.
"""
from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from torchmetrics import Metric

from colorgan.color import ColorSpace
from colorgan.metrics import colorfulness

log = logging.getLogger("colorgan")
GAINS = tuple(round(0.5 + 0.1 * i, 2) for i in range(36))  # 0.5, 0.6, ..., 4.0


def check_chroma_target(target: float | None, option: str = "model.chroma_target"
                        ) -> float | None:
    if target is None:
        return None
    try:
        value = float(target)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 2.0:
        raise ValueError(f"{option}={target!r} must be a fraction of the ground truth's "
                         "colorfulness in (0, 2], e.g. 0.92, or null to keep model.chroma_gain.")
    return value


class GainCurve(Metric):
    """Mean colorfulness of a prediction at every gain of ``gains`` (G,), and of the truth."""

    full_state_update = False

    def __init__(self, gains: tuple[float, ...] = GAINS) -> None:
        super().__init__()
        self.gains = tuple(float(g) for g in gains)
        self.add_state("fake", torch.zeros(len(self.gains), dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("real", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, cs: ColorSpace, real_A: torch.Tensor, raw_B: torch.Tensor,  # type: ignore[override]
               real_rgb: torch.Tensor, center: str) -> None:
        """real_A (B, 1, H, W), ungained prediction raw_B (B, C, H, W), truth (B, 3, H, W)."""
        for i, g in enumerate(self.gains):
            rgb = cs.decode(real_A, cs.scale_chroma(real_A, raw_B, g, center))  # (B, 3, H, W)
            self.fake[i] += colorfulness(rgb).double().sum()
        self.real += colorfulness(real_rgb.float().clamp(0, 1)).double().sum()
        self.count += real_A.shape[0]

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (mean colorfulness at each gain (G,), the truth's mean colorfulness ())."""
        n = self.count.clamp_min(1.0)
        return self.fake / n, self.real / n


def calibrated_gain(gains: tuple[float, ...], curve: torch.Tensor, truth: float,
                    target: float) -> float:
    """The smallest gain whose colorfulness reaches ``target * truth`` on the (increasing)
    ``curve``, linearly interpolated; the grid's ends when the goal is outside it."""
    goal = float(target) * float(truth)
    values = [float(v) for v in curve]
    if values[0] >= goal:
        return gains[0]
    for i in range(1, len(values)):
        if values[i] >= goal:
            lo, hi = values[i - 1], values[i]
            t = (goal - lo) / (hi - lo) if hi > lo else 1.0
            return round(gains[i - 1] + t * (gains[i] - gains[i - 1]), 3)
    return gains[-1]


def own_pass(loader):
    """A loader of its own over the validation batches: the validation loop has already started
    iterating ``loader``, and with ``persistent_workers`` a second ``iter()`` on it would hand
    the loop's own worker iterator over (the epoch's validation would then see no batch)."""
    if not isinstance(loader, DataLoader) or not getattr(loader, "persistent_workers", False):
        return loader
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=loader.sampler,
                      collate_fn=loader.collate_fn, num_workers=loader.num_workers,
                      pin_memory=loader.pin_memory, drop_last=loader.drop_last)


class ChromaCalibration(pl.Callback):
    """model.chroma_target: before each fitting validation, the gain that brings the validation
    photos' colour to ``target`` x theirs becomes the predictor's (``pl_module.predictor``)."""

    def __init__(self, target: float) -> None:
        self.target = float(target)
        self.curve = GainCurve()
        self.short: tuple[float, float, float] | None = None  # the last pass fell short

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        p = pl_module.predictor
        loader = trainer.val_dataloaders
        loader = own_pass(loader[0] if isinstance(loader, (list, tuple)) else loader)
        n = trainer.num_val_batches[0] if trainer.num_val_batches else 0
        self.curve = self.curve.to(pl_module.device)
        for i, batch in enumerate(loader):  # the batches the validation loop will score
            if i >= n:
                break
            batch = pl_module._apply_batch_transfer_handler(batch, pl_module.device)
            real_A, _, g_in = pl_module.prepare_batch(batch)
            self.curve.update(p.cs, real_A, p.raw(g_in), batch["rgb"], p.chroma_center)
        if not bool(self.curve.count > 0):
            return
        curve, truth = self.curve.compute()  # summed over DDP ranks
        self.curve.reset()
        p.chroma_gain = calibrated_gain(self.curve.gains, curve, float(truth), self.target)
        goal = self.target * float(truth)  # the last pass decides: early epochs are often dull
        self.short = (float(curve[-1]), goal, float(truth)) if curve[-1] < goal else None

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        """Say so when the last calibration could not reach the target."""
        if self.short is None or not trainer.is_global_zero:
            return
        reached, goal, truth = self.short
        gain = pl_module.predictor.chroma_gain
        log.warning(
            "model.chroma_target=%s is out of reach: at the largest gain, %s, the validation "
            "colorfulness is %.1f, below %.1f (the target x the photos' %.1f); the checkpoint "
            "keeps the gain %s. The model predicts little colour: train longer, or lower "
            "model.chroma_target.", self.target, gain, reached, goal, truth, gain)


__all__ = ["GAINS", "ChromaCalibration", "GainCurve", "calibrated_gain", "check_chroma_target"]
