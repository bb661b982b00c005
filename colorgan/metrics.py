"""Colour metrics. PSNR and SSIM come from torchmetrics; colorfulness is Hasler and
Suesstrunk, "Measuring colourfulness in natural images" (SPIE 2003)."""
from __future__ import annotations

import torch
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure


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


def image_metrics() -> MetricCollection:
    """PSNR and SSIM on RGB in [0, 1], each the mean over images, plus output colorfulness."""
    return MetricCollection({
        "psnr": PeakSignalNoiseRatio(data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3)),
        "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
        "colorfulness": Colorfulness(),
    })


class ColorMetrics(torch.nn.Module):
    """The model's numbers, the gray baseline's (ab = 0) on the same images, and the
    ground truth's colorfulness: ``{prefix}psnr``, ``{prefix}gray_psnr``, ..."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.model = image_metrics()
        self.gray = image_metrics()
        self.gt_colorfulness = Colorfulness()

    def update(self, fake_rgb: torch.Tensor, gray_rgb: torch.Tensor, real_rgb: torch.Tensor) -> None:
        fake_rgb, gray_rgb, real_rgb = fake_rgb.float(), gray_rgb.float(), real_rgb.float()
        for coll, pred in ((self.model, fake_rgb), (self.gray, gray_rgb)):
            for name, metric in coll.items():
                metric.update(pred) if name == "colorfulness" else metric.update(pred, real_rgb)
        self.gt_colorfulness.update(real_rgb)

    def compute(self) -> dict[str, torch.Tensor]:
        out = {f"{self.prefix}{k}": v for k, v in self.model.compute().items()}
        out.update({f"{self.prefix}gray_{k}": v for k, v in self.gray.compute().items()})
        out[f"{self.prefix}colorfulness_gt"] = self.gt_colorfulness.compute()
        return out

    def reset(self) -> None:
        self.model.reset()
        self.gray.reset()
        self.gt_colorfulness.reset()
