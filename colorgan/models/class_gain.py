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

Two rules (``model.chroma_class_rule``):

- ``posterior`` (default): each photo's gain is a decision under the head's uncertainty. The
  last validation records the curves per *true* class (the mean per-photo PSNR P_c(g) and
  colour C_c(g) at each gain g of the grid), and each photo's class probabilities p. A photo
  gets the gain g that maximises sum_c p_c (P_c(g) + lambda C_c(g)), its expected PSNR plus a
  price on colour, with lambda set so the validation photos' mean colour reaches the goal
  (Bayes decision with a Lagrange multiplier). The checkpoint keeps the table
  P + lambda C (K, G): ``model.chroma_class_table``. A photo the head is unsure of gets a gain
  between its likely classes' instead of the wrong class's.
- ``argmax``: one gain per predicted class (the greedy path above;
  ``model.chroma_class_gains``), as table 20 measured it.
"""
from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.functional.image import peak_signal_noise_ratio
from torchmetrics.utilities import dim_zero_cat

from colorgan.color import ColorSpace, full_precision
from colorgan.metrics import colorfulness

WIDE_GAINS = tuple(round(0.5 + 0.1 * i, 2) for i in range(76))  # 0.5, 0.6, ..., 8.0
RULES = ("posterior", "argmax")


class ClassGainCurve(Metric):
    """Per class k (predicted, or true for the posterior rule) and gain g: sums of the
    per-image PSNR and colorfulness (K, G), the image count per class (K,), and the truth's
    colorfulness sum; with ``probs`` also each image's class probabilities (N, K) and
    colorfulness at every gain (N, G). Classes < 0 (unlabelled) count in the per-image
    states only."""

    full_state_update = False

    def __init__(self, num_classes: int, gains: tuple[float, ...] = WIDE_GAINS) -> None:
        super().__init__()
        self.gains = tuple(float(g) for g in gains)
        k, g = int(num_classes), len(self.gains)
        self.add_state("psnr", torch.zeros(k, g, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("colour", torch.zeros(k, g, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(k, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("real", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("images", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("img_probs", [], dist_reduce_fx="cat")  # (N, K) with the posterior rule
        self.add_state("img_colour", [], dist_reduce_fx="cat")  # (N, G)

    @full_precision
    def update(self, cs: ColorSpace, real_A: torch.Tensor, raw_B: torch.Tensor,  # type: ignore[override]
               real_rgb: torch.Tensor, center: str, classes: torch.Tensor,
               probs: torch.Tensor | None = None) -> None:
        """real_A (B, 1, H, W), ungained prediction raw_B (B, C, H, W), truth (B, 3, H, W),
        classes (B,) (-1: unlabelled), class probabilities (B, K) for the posterior rule."""
        real = real_rgb.float().clamp(0, 1)
        known = classes >= 0
        classes = classes.long()[known]
        colours = []
        for i, g in enumerate(self.gains):
            rgb = cs.decode(real_A, cs.scale_chroma(real_A, raw_B, g, center))  # (B, 3, H, W)
            psnr = peak_signal_noise_ratio(rgb, real, data_range=1.0, reduction="none",
                                           dim=(1, 2, 3))  # (B,)
            colours.append(colorfulness(rgb).double())  # (B,)
            self.psnr[:, i].index_add_(0, classes, psnr.double()[known])
            self.colour[:, i].index_add_(0, classes, colours[-1][known])
        self.count.index_add_(0, classes, torch.ones_like(classes, dtype=torch.float64))
        self.real += colorfulness(real).double().sum()
        self.images += real.shape[0]
        if probs is not None:
            self.img_probs.append(probs.double())
            self.img_colour.append(torch.stack(colours, 1))  # (B, G)

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (PSNR sums (K, G), colorfulness sums (K, G), counts (K,), truth's mean colour ())."""
        return self.psnr, self.colour, self.count, self.real / self.images.clamp_min(1.0)

    def per_image(self) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (class probabilities (N, K), colorfulness at every gain (N, G)) of the images
        recorded with ``probs``."""
        if not self.img_probs:
            raise RuntimeError("ClassGainCurve.per_image: no image was recorded with probs.")
        return dim_zero_cat(self.img_probs), dim_zero_cat(self.img_colour)


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


def posterior_table(psnr: torch.Tensor, colour: torch.Tensor, count: torch.Tensor,
                    probs: torch.Tensor, img_colour: torch.Tensor, goal: float
                    ) -> tuple[torch.Tensor, float, bool]:
    """The posterior rule's table P + lambda C (K, G) -> (table, lambda, reached).

    ``psnr`` and ``colour`` are (K, G) sums over each true class's images, ``count`` (K,);
    ``probs`` (N, K) and ``img_colour`` (N, G) are the calibration images'. lambda is the
    least price on colour at which the images' mean colorfulness, each at its chosen gain,
    reaches ``goal`` (bisection: the chosen gains only grow with lambda)."""
    n = count.clamp_min(1.0)[:, None]
    mean_psnr, mean_colour = psnr / n, colour / n  # (K, G) per-image means of each class
    exp_psnr, exp_colour = probs @ mean_psnr, probs @ mean_colour  # (N, G) expected per image

    def reached(lam: float) -> float:
        idx = (exp_psnr + lam * exp_colour).argmax(1, keepdim=True)  # (N, 1)
        return float(img_colour.gather(1, idx).mean())

    lo, hi = 0.0, 1.0
    while reached(hi) < goal and hi < 1e4:
        hi *= 2.0
    ok = reached(hi) >= goal
    if reached(lo) >= goal:
        hi = lo
    else:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if reached(mid) < goal else (lo, mid)
    return mean_psnr + hi * mean_colour, hi, ok


def posterior_gains(table: torch.Tensor, probs: torch.Tensor,
                    gains: tuple[float, ...] = WIDE_GAINS) -> torch.Tensor:
    """Each photo's gain (B,) under the posterior rule: the grid gain that maximises its
    class probabilities (B, K) times the ``table`` (K, G)."""
    # in float64 on the CPU, as calibrated (a near-tie must fall the same way; MPS has no
    # float64); (B, K) @ (K, G) is tiny next to the generator passes
    score = probs.detach().cpu().double() @ table.cpu().double()  # (B, G)
    grid = torch.tensor(gains, dtype=torch.float32)
    return grid[score.argmax(1)].to(probs.device)  # (B,)


def photo_gains(probs: torch.Tensor, table=None, gains=None) -> torch.Tensor:
    """Each photo's gain (B,) from its class probabilities (B, K): the posterior rule's
    ``table`` (K, G) when given, else the argmax rule's per-class ``gains`` (K,)."""
    if table is not None:
        return posterior_gains(torch.as_tensor(table, dtype=torch.float64), probs)
    return torch.as_tensor(gains, dtype=torch.float32, device=probs.device)[probs.argmax(1)]


def check_class_rule(rule: str, option: str = "model.chroma_class_rule") -> str:
    if rule not in RULES:
        raise ValueError(f"{option}={rule!r}: choose one of {list(RULES)} (posterior: a gain "
                         "from the head's class probabilities; argmax: one gain per predicted "
                         "class).")
    return rule


def check_class_table(table, num_classes: int | None, option: str = "model.chroma_class_table"
                      ) -> torch.Tensor | None:
    """None, or the posterior rule's (K, len(WIDE_GAINS)) table for a head of K classes."""
    if table is None:
        return None
    try:
        t = torch.tensor(table, dtype=torch.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{option}: not a table of numbers ({e}); recalibrate (train with "
                         "model.chroma_per_class=true) or set it to null.") from None
    want = (int(num_classes) if num_classes is not None else t.shape[0] if t.dim() else 0,
            len(WIDE_GAINS))
    if t.dim() != 2 or tuple(t.shape) != want or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{option} is {tuple(t.shape)}, expected {want} finite numbers (one "
                         "row per class of the guidance head, one column per gain of "
                         "WIDE_GAINS): recalibrate (train with model.chroma_per_class=true) or "
                         "set it to null.")
    return t


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


__all__ = ["ClassGainCurve", "RULES", "WIDE_GAINS", "check_class_gains", "check_class_rule",
           "check_class_table", "class_gains", "greedy_path", "photo_gains", "posterior_gains",
           "posterior_table"]
