"""Chroma-gain calibration (``model.chroma_target``): the inference gain that makes the model's
colour on the validation photos a set fraction of their true colorfulness.

Regression models predict the conditional mean (or median) and come out dull by a factor that
depends on the data: the same L1 + EMA + crops recipe needs chroma x 2 on 64 px scene photos
and x 4 on CIFAR-10 (experiments/quality, tables 8-9). A fixed ``model.chroma_gain`` does not
transfer; a target colorfulness does. During fitting, every validation pass measures the Hasler-Suesstrunk
colorfulness of the ungained prediction at a grid of gains (about ``model.chroma_center``) and of
the ground truth; at the epoch's end ``model.chroma_gain`` becomes the smallest gain whose mean
colorfulness reaches ``chroma_target`` x the truth's (linear interpolation between grid points).
The gain is stored with the checkpoint's hyper-parameters, so eval and ``colorgan colorize`` use
it; each validation reports with the gain the previous one calibrated. Test splits are never
used: calibration runs only inside ``trainer.fit``.
"""
from __future__ import annotations

import torch
from torchmetrics import Metric

from colorgan.color import ColorSpace
from colorgan.metrics import colorfulness

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


__all__ = ["GAINS", "GainCurve", "calibrated_gain", "check_chroma_target"]
