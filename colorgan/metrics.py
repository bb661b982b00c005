"""Colour metrics. PSNR and SSIM come from torchmetrics; colorfulness is Hasler and
Suesstrunk, "Measuring colourfulness in natural images" (SPIE 2003); CIEDE2000 follows
Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula" (CR&A 2005)."""
from __future__ import annotations

import math

import torch
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from colorgan.color import denormalize_ab, denormalize_l, full_precision, rgb_to_lab_norm


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B,) colorfulness on the 0-255 scale (0 for gray images)."""
    x = rgb.float() * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std = (rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False)).sqrt()
    mean = (rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2).sqrt()
    return std + 0.3 * mean


class Colorfulness(MeanMetric):
    """Mean Hasler-Suesstrunk colorfulness over images."""

    def update(self, rgb: torch.Tensor) -> None:  # type: ignore[override]
        super().update(colorfulness(rgb))


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor, dim: int = 1, kL: float = 1.0,
              kC: float = 1.0, kH: float = 1.0) -> torch.Tensor:
    """CIEDE2000 of two CIELAB tensors (L in [0, 100], a/b unscaled; ``dim`` holds L, a, b),
    e.g. (B, 3, H, W) -> (B, H, W): Sharma et al. (2005), eqs. 2-22, vectorised."""
    L1, a1, b1 = lab1.unbind(dim)
    L2, a2, b2 = lab2.unbind(dim)
    two_pi, deg = 2.0 * math.pi, math.pi / 180.0
    c7 = ((torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2.0) ** 7
    G = 0.5 * (1.0 - torch.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + G) * a1, (1.0 + G) * a2
    C1p, C2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.remainder(torch.atan2(b1, a1p), two_pi)  # hue angles in [0, 2 pi)
    h2p = torch.remainder(torch.atan2(b2, a2p), two_pi)
    chroma0 = (C1p * C2p) == 0  # a neutral colour has no hue

    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - two_pi, torch.where(dh < -math.pi, dh + two_pi, dh))
    dh = torch.where(chroma0, torch.zeros_like(dh), dh)
    dL, dC = L2 - L1, C2p - C1p
    dH = 2.0 * torch.sqrt(C1p * C2p) * torch.sin(dh / 2.0)

    L_bar, C_bar, h_sum = (L1 + L2) / 2.0, (C1p + C2p) / 2.0, h1p + h2p
    h_bar = torch.where((h1p - h2p).abs() <= math.pi, h_sum / 2.0,
                        torch.where(h_sum < two_pi, (h_sum + two_pi) / 2.0,
                                    (h_sum - two_pi) / 2.0))
    h_bar = torch.where(chroma0, h_sum, h_bar)
    T = (1.0 - 0.17 * torch.cos(h_bar - 30 * deg) + 0.24 * torch.cos(2 * h_bar)
         + 0.32 * torch.cos(3 * h_bar + 6 * deg) - 0.20 * torch.cos(4 * h_bar - 63 * deg))
    d_theta = 30 * deg * torch.exp(-(((h_bar / deg) - 275.0) / 25.0) ** 2)
    C_bar7 = C_bar ** 7
    R_C = 2.0 * torch.sqrt(C_bar7 / (C_bar7 + 25.0 ** 7))
    S_L = 1.0 + 0.015 * (L_bar - 50.0) ** 2 / torch.sqrt(20.0 + (L_bar - 50.0) ** 2)
    S_C = 1.0 + 0.045 * C_bar
    S_H = 1.0 + 0.015 * C_bar * T
    R_T = -torch.sin(2.0 * d_theta) * R_C
    tL, tC, tH = dL / (kL * S_L), dC / (kC * S_C), dH / (kH * S_H)
    return torch.sqrt((tL ** 2 + tC ** 2 + tH ** 2 + R_T * tC * tH).clamp_min(0.0))


def rgb_ciede2000(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] twice -> (B,) mean CIEDE2000 over each image's pixels."""
    def lab(rgb: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W), L in [0, 100]
        L, ab = rgb_to_lab_norm(rgb)
        return torch.cat([denormalize_l(L), denormalize_ab(ab)], dim=1)

    return ciede2000(lab(pred), lab(target)).flatten(1).mean(dim=1)


class CIEDE2000(MeanMetric):
    """Mean CIEDE2000 to the ground truth (~1 is just noticeable), per image, then over images."""

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:  # type: ignore[override]
        super().update(rgb_ciede2000(pred.float(), target.float()))


def image_metrics() -> MetricCollection:
    """PSNR, SSIM, colorfulness and CIEDE2000 on RGB in [0, 1], each the mean over images."""
    return MetricCollection({
        "psnr": PeakSignalNoiseRatio(data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3)),
        "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
        "colorfulness": Colorfulness(),
        "ciede2000": CIEDE2000(),
    })


BASELINE = ("psnr", "ssim", "colorfulness", "ciede2000")


@full_precision
def gray_baseline(gray_rgb: torch.Tensor, real_rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) twice -> (B, 5): the gray image's PSNR, SSIM, colorfulness and CIEDE2000
    against the truth (as :func:`image_metrics`, per image), then the truth's colorfulness."""
    psnr = peak_signal_noise_ratio(gray_rgb, real_rgb, data_range=1.0, reduction="none",
                                   dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(gray_rgb, real_rgb, data_range=1.0,
                                               reduction="none")
    return torch.stack([psnr, ssim, colorfulness(gray_rgb), rgb_ciede2000(gray_rgb, real_rgb),
                        colorfulness(real_rgb)], dim=1)


def fingerprints(rgb: torch.Tensor) -> list[tuple]:
    """(B, 3, H, W) -> one hashable key per image: its shape, plain and position-weighted sums."""
    x = rgb.detach().double().flatten(1)  # (B, N)
    w = torch.arange(x.shape[1], device=x.device, dtype=torch.float64).remainder_(251).add_(1)
    sums = torch.stack([x.sum(1), (x * w).sum(1)], 1).tolist()
    return [(tuple(rgb.shape[1:]), *s) for s in sums]


class ColorMetrics(torch.nn.Module):
    """The model's numbers, the gray baseline's (ab = 0) on the same images (computed once per
    image, remembered) and the truth's colorfulness: ``{prefix}psnr``, ``{prefix}gray_psnr``, ...
    ``delta_colorfulness`` is DDColor's Delta CF; ``extra`` (eval's FID, LPIPS) when set."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.model = image_metrics()
        self.gray = MetricCollection({k: MeanMetric() for k in BASELINE})
        self.gt_colorfulness = MeanMetric()
        self.baseline_cache: dict[tuple, list[float]] = {}  # image fingerprint -> 5 values
        self.extra: torch.nn.Module | None = None  # FeatureMetrics, set by eval

    def baseline(self, gray_rgb: torch.Tensor, real_rgb: torch.Tensor) -> torch.Tensor:
        """(B, 5) :func:`gray_baseline` values, computed only for images not seen before."""
        keys = fingerprints(real_rgb)
        new = [i for i, k in enumerate(keys) if k not in self.baseline_cache]
        if new:
            idx = torch.tensor(new, device=real_rgb.device)
            for i, row in zip(new, gray_baseline(gray_rgb[idx], real_rgb[idx]).tolist()):
                self.baseline_cache[keys[i]] = row
        rows = [self.baseline_cache[k] for k in keys]
        return torch.tensor(rows, dtype=torch.float32, device=real_rgb.device)

    @full_precision  # SSIM's filter in float32 under bf16-mixed training
    def update(self, fake_rgb: torch.Tensor, gray_rgb: torch.Tensor, real_rgb: torch.Tensor) -> None:
        fake_rgb, gray_rgb, real_rgb = fake_rgb.float(), gray_rgb.float(), real_rgb.float()
        for name, metric in self.model.items():
            metric.update(fake_rgb) if name == "colorfulness" else metric.update(fake_rgb, real_rgb)
        values = self.baseline(gray_rgb, real_rgb)  # (B, 5)
        for i, name in enumerate(BASELINE):
            self.gray[name].update(values[:, i])
        self.gt_colorfulness.update(values[:, 4])
        if self.extra is not None:
            self.extra.update(fake_rgb, real_rgb)

    def compute(self) -> dict[str, torch.Tensor]:
        out = {f"{self.prefix}{k}": v for k, v in self.model.compute().items()}
        out.update({f"{self.prefix}gray_{k}": v for k, v in self.gray.compute().items()})
        gt = out[f"{self.prefix}colorfulness_gt"] = self.gt_colorfulness.compute()
        for name in ("", "gray_"):  # Delta CF (DDColor, Kang et al. 2023): dataset means
            out[f"{self.prefix}{name}delta_colorfulness"] = (out[f"{self.prefix}{name}colorfulness"]
                                                             - gt).abs()
        if self.extra is not None:
            out.update({f"{self.prefix}{k}": v for k, v in self.extra.compute().items()})
        return out

    def reset(self) -> None:
        self.model.reset()
        self.gray.reset()
        self.gt_colorfulness.reset()
        if self.extra is not None:
            self.extra.reset()
