"""Per-class chroma gain (``model.chroma_per_class``): one vibrance gain per class that the
class-guidance head predicts, calibrated on the validation photos so that their mean
colorfulness reaches ``model.chroma_target`` x the truth's at the least PSNR.

One gain for all (:mod:`colorgan.models.calibration`) stretches every photo's chroma alike, yet
what a regression model gets right differs by what the photo shows: on CIFAR-10 an airplane's
dull predicted sky is worth stretching about 5x, a frog or a ship about 1.6x (experiments/
quality, table 20). The last epoch's validation records, per predicted class and per gain of a grid,
the sum of the per-image PSNR and colorfulness. At the epoch's end a greedy path starts every
class at the grid's lowest gain and repeatedly raises the class whose next step costs the least
PSNR per unit of colour added (steps that raise the PSNR come first) until the mean colour
reaches the goal; the last step is interpolated so the goal is met exactly. The gains are saved
with the checkpoint; eval and ``colorgan colorize`` predict each photo's class with the head
(one more generator pass) and apply its gain. Films get the one calibrated gain: a frame's predicted
class can change within a shot, and its gain would flicker with it.
"""
from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.functional.image import peak_signal_noise_ratio

from colorgan.color import ColorSpace, full_precision
from colorgan.metrics import colorfulness

WIDE_GAINS = tuple(round(0.5 + 0.1 * i, 2) for i in range(76))  # 0.5, 0.6, ..., 8.0


class ClassGainCurve(Metric):
    """Per predicted class k and gain g: sums of the per-image PSNR and colorfulness (K, G),
    the image count per class (K,), and the truth's colorfulness sum."""

    full_state_update = False

    def __init__(self, num_classes: int, gains: tuple[float, ...] = WIDE_GAINS) -> None:
        super().__init__()
        self.gains = tuple(float(g) for g in gains)
        k, g = int(num_classes), len(self.gains)
        self.add_state("psnr", torch.zeros(k, g, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("colour", torch.zeros(k, g, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(k, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("real", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    @full_precision
    def update(self, cs: ColorSpace, real_A: torch.Tensor, raw_B: torch.Tensor,  # type: ignore[override]
               real_rgb: torch.Tensor, center: str, classes: torch.Tensor) -> None:
        """real_A (B, 1, H, W), ungained prediction raw_B (B, C, H, W), truth (B, 3, H, W),
        predicted classes (B,)."""
        real = real_rgb.float().clamp(0, 1)
        classes = classes.long()
        for i, g in enumerate(self.gains):
            rgb = cs.decode(real_A, cs.scale_chroma(real_A, raw_B, g, center))  # (B, 3, H, W)
            psnr = peak_signal_noise_ratio(rgb, real, data_range=1.0, reduction="none",
                                           dim=(1, 2, 3))  # (B,)
            self.psnr[:, i].index_add_(0, classes, psnr.double())
            self.colour[:, i].index_add_(0, classes, colorfulness(rgb).double())
        self.count.index_add_(0, classes, torch.ones_like(classes, dtype=torch.float64))
        self.real += colorfulness(real).double().sum()

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (PSNR sums (K, G), colorfulness sums (K, G), counts (K,), truth's mean colour ())."""
        return self.psnr, self.colour, self.count, self.real / self.count.sum().clamp_min(1.0)


def greedy_path(psnr: torch.Tensor, colour: torch.Tensor, count: torch.Tensor):
    """The greedy allocation of gain steps over classes, from the lowest gain up: yields
    (grid index per class (K,), the class raised next or -1 at the end). ``psnr`` and ``colour``
    are (K, G) sums over each class's images, ``count`` (K,); empty classes stay put."""
    k, g = psnr.shape
    idx = torch.zeros(k, dtype=torch.long)
    rows = torch.arange(k)
    while True:
        movable = (count > 0) & (idx < g - 1)
        if not bool(movable.any()):
            yield idx.clone(), -1
            return
        nxt = (idx + 1).clamp(max=g - 1)
        d_psnr = psnr[rows, nxt] - psnr[rows, idx]  # (K,)
        d_colour = (colour[rows, nxt] - colour[rows, idx]).clamp_min(1e-9)
        ratio = torch.where(movable, d_psnr / d_colour, torch.full_like(d_psnr, -float("inf")))
        best = int(ratio.argmax())
        yield idx.clone(), best
        idx[best] += 1


def class_gains(gains: tuple[float, ...], psnr: torch.Tensor, colour: torch.Tensor,
                count: torch.Tensor, goal: float, fallback: float) -> tuple[list[float], bool]:
    """Per-class gains whose mean colorfulness over all images is ``goal`` -> (gains (K,),
    reached). Classes without validation images get ``fallback`` (the uniform gain)."""
    n = float(count.sum().clamp_min(1.0))
    rows = torch.arange(psnr.shape[0])
    idx, best = None, -1
    for idx, best in greedy_path(psnr, colour, count):
        mean = float(colour[rows, idx].sum()) / n
        if best < 0 or mean >= goal:
            break
        after = float(colour[best, idx[best] + 1] - colour[best, idx[best]]) / n
        if mean + after >= goal:  # this step crosses the goal: interpolate within it
            t = (goal - mean) / after if after > 0 else 1.0
            out = [gains[int(i)] for i in idx]
            out[best] = gains[int(idx[best])] + t * (gains[int(idx[best]) + 1] - gains[int(idx[best])])
            return _finish(out, count, fallback), True
    out = [gains[int(i)] for i in idx]
    mean = float(colour[rows, idx].sum()) / n
    return _finish(out, count, fallback), mean >= goal


def _finish(out: list[float], count: torch.Tensor, fallback: float) -> list[float]:
    return [round(float(g), 3) if c > 0 else float(fallback) for g, c in zip(out, count.tolist())]


def check_class_gains(gains, num_classes: int | None, option: str = "model.chroma_class_gains"
                      ) -> list[float] | None:
    """None, or one positive gain per class of the guidance head."""
    if gains is None:
        return None
    values = [float(g) for g in gains]
    if num_classes is not None and len(values) != int(num_classes):
        raise ValueError(f"{option} has {len(values)} gains for a head of {num_classes} classes: "
                         "recalibrate (train with model.chroma_per_class=true) or set it to null.")
    if any(not 0.0 <= g <= 10.0 for g in values):
        raise ValueError(f"{option}={values}: each gain must be in [0, 10].")
    return values


__all__ = ["ClassGainCurve", "WIDE_GAINS", "check_class_gains", "class_gains", "greedy_path"]
