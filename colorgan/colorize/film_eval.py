"""Video metrics: per-frame PSNR / SSIM, colour distribution consistency (CDC) and flicker.

CDC is the Jensen-Shannon divergence of each RGB channel's 256-bin histogram between frames
t and t+k, k in (1, 2, 4), averaged (Liu et al. 2021, "Temporally consistent video
colorization with deep feature propagation and self-regularization learning",
arXiv:2110.04562). Flicker is the mean absolute change of ab between consecutive output frames
divided by the same for the ground truth (1 = as steady as the original; > 1 flickers).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from colorgan.color import rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_stream
from colorgan.colorize.pipeline import Prefetch
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.metrics import image_metrics
from colorgan.scenes import DEFAULT_THRESHOLD
from colorgan.video.io import read_frames

CDC_STEPS = (1, 2, 4)
FLICKER_SIZE = 256  # ab differences are measured at this size (long side)


def channel_histograms(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> normalised 256-bin histograms (B, 3, 256)."""
    x = frames.flatten(2).long()  # (B, 3, HW)
    hist = torch.zeros(*x.shape[:2], 256, dtype=torch.float64)
    hist.scatter_add_(2, x, torch.ones_like(x, dtype=torch.float64))
    return hist / hist.sum(-1, keepdim=True)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (log base 2, in [0, 1]) over the last dim."""
    m = 0.5 * (p + q)

    def kl(a: torch.Tensor) -> torch.Tensor:
        return torch.where(a > 0, a * (a / m.clamp_min(1e-300)).log2(), torch.zeros_like(a)).sum(-1)

    return 0.5 * kl(p) + 0.5 * kl(q)


def cdc(hists: torch.Tensor, steps: tuple[int, ...] = CDC_STEPS) -> float:
    """Histograms (T, 3, 256) of a clip -> CDC (0 for a static clip)."""
    vals = [js_divergence(hists[:-k], hists[k:]).mean() for k in steps if hists.shape[0] > k]
    return float(torch.stack(vals).mean()) if vals else float("nan")


def _small_ab(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> normalised ab (B, 2, h, w), long side FLICKER_SIZE."""
    rgb = uint8_to_float(frames)
    scale = min(1.0, FLICKER_SIZE / max(rgb.shape[-2:]))
    if scale < 1.0:
        rgb = F.interpolate(rgb, scale_factor=scale, mode="bilinear", antialias=True)
    return rgb_to_lab_norm(rgb.clamp(0, 1))[1]


class VideoMetrics:
    """Accumulates per-frame and temporal metrics of (output, ground truth) frame batches."""

    def __init__(self) -> None:
        keep = ("psnr", "ssim", "colorfulness")  # per-frame metrics, mean over frames
        self.image = {k: m for k, m in image_metrics().items() if k in keep}
        self.hist_fake: list[torch.Tensor] = []
        self.hist_real: list[torch.Tensor] = []
        self.delta = {"fake": 0.0, "real": 0.0}
        self.prev: dict[str, torch.Tensor] = {}
        self.frames = 0

    def _flicker_update(self, key: str, frames: torch.Tensor) -> None:
        ab = _small_ab(frames)  # (B, 2, h, w)
        seq = torch.cat([self.prev[key], ab]) if key in self.prev else ab
        if seq.shape[0] > 1:
            self.delta[key] += float((seq[1:] - seq[:-1]).abs().mean(dim=(1, 2, 3)).sum())
        self.prev[key] = ab[-1:]

    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        """fake, real: uint8 (B, 3, H, W)."""
        fake_f, real_f = uint8_to_float(fake), uint8_to_float(real)
        for name, metric in self.image.items():
            metric.update(fake_f) if name == "colorfulness" else metric.update(fake_f, real_f)
        self.hist_fake.append(channel_histograms(fake))
        self.hist_real.append(channel_histograms(real))
        self._flicker_update("fake", fake)
        self._flicker_update("real", real)
        self.frames += fake.shape[0]

    def compute(self) -> dict[str, float]:
        m = {k: float(metric.compute()) for k, metric in self.image.items()}
        steady = self.delta["real"] < 1e-9
        return {"frames": self.frames, "psnr": m["psnr"], "ssim": m["ssim"],
                "colorfulness": m["colorfulness"],
                "cdc": cdc(torch.cat(self.hist_fake)), "cdc_gt": cdc(torch.cat(self.hist_real)),
                "flicker": float("nan") if steady else self.delta["fake"] / self.delta["real"]}


def evaluate_video(path: str | Path, colorizer: Colorizer, mode: str = "independent",
                   strength: float = 0.6, scene_threshold: float = DEFAULT_THRESHOLD, batch_size: int = 8,
                   max_frames: int | None = None) -> dict[str, float]:
    """Gray out a colour video, colorize it with ``mode`` and measure it against the original."""
    tc = TemporalColorizer(colorizer, mode, strength, scene_threshold)
    vm = VideoMetrics()
    frames = Prefetch(read_frames(path, max_frames))
    for batch, fake, _ in colorize_stream(frames, tc, batch_size):
        # the colorizer only reads luminance, so feeding colour frames is feeding their gray
        real = torch.stack([torch.from_numpy(f.rgb).permute(2, 0, 1) for f in batch])
        vm.update(fake, real)
    return {"mode": mode, **vm.compute(), "cuts": len(tc.cuts)}


def format_table(rows: list[dict]) -> str:
    out = ["| mode | frames | PSNR (dB) | SSIM | CDC | CDC (original) | flicker ratio |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['mode']} | {r['frames']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                   f"{r['cdc']:.5f} | {r['cdc_gt']:.5f} | {r['flicker']:.3f} |")
    return "\n".join(out)


__all__ = [
    "VideoMetrics",
    "cdc",
    "channel_histograms",
    "evaluate_video",
    "format_table",
    "js_divergence",
]
