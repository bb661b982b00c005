"""Video metrics: per-frame PSNR / SSIM / CIEDE2000, colour distribution consistency (CDC) and flicker.

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
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from colorgan.color import rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.carry import TAU
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.eval_references import (
    NAIVE_MODES,
    NaiveColour,
    ReferencePlan,
    gray_frames,
    plan_references,
)
from colorgan.colorize.films import batched, colorize_stream, to_tensor
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.metrics import colorfulness, rgb_ciede2000
from colorgan.scenes import DEFAULT_THRESHOLD
from colorgan.utils.pipeline import Prefetch
from colorgan.video.io import read_frames

CDC_STEPS = (1, 2, 4)
FLICKER_SIZE = 256  # ab differences are measured at this size (long side)
PER_FRAME = ("psnr", "ssim", "ciede2000", "colorfulness")  # per frame, mean over scored frames


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
    """Accumulates per-frame and temporal metrics of (output, ground truth) frame batches; a frame
    left out by ``keep`` (a reference frame) is out of every average and of the sequence CDC and
    flicker see (its neighbours form a pair, so a jump of colour at a reference is still seen)."""

    def __init__(self) -> None:
        self.per_frame: dict[str, list[float]] = {k: [] for k in PER_FRAME}
        self.index: list[int] = []
        self.hist_fake: list[torch.Tensor] = []
        self.hist_real: list[torch.Tensor] = []
        self.delta = {"fake": 0.0, "real": 0.0}
        self.prev: dict[str, torch.Tensor] = {}
        self.seen = 0  # frames fed, kept or not

    def _flicker_update(self, key: str, frames: torch.Tensor) -> None:
        ab = _small_ab(frames)  # (B, 2, h, w)
        seq = torch.cat([self.prev[key], ab]) if key in self.prev else ab
        if seq.shape[0] > 1:
            self.delta[key] += float((seq[1:] - seq[:-1]).abs().mean(dim=(1, 2, 3)).sum())
        self.prev[key] = ab[-1:]

    def update(self, fake: torch.Tensor, real: torch.Tensor, keep: list[bool] | None = None) -> None:
        """fake, real: uint8 (B, 3, H, W); ``keep``: which of the B frames are scored."""
        idx = list(range(self.seen, self.seen + fake.shape[0]))
        self.seen += fake.shape[0]
        if keep is not None:
            sel = [i for i, k in enumerate(keep) if k]
            fake, real, idx = fake[sel], real[sel], [idx[i] for i in sel]
        if fake.shape[0] == 0:
            return
        fake_f, real_f = uint8_to_float(fake), uint8_to_float(real)  # (B, 3, H, W)
        vals = {"psnr": peak_signal_noise_ratio(fake_f, real_f, data_range=1.0, reduction="none",
                                                dim=(1, 2, 3)),
                "ssim": structural_similarity_index_measure(fake_f, real_f, data_range=1.0,
                                                            reduction="none"),
                "ciede2000": rgb_ciede2000(fake_f, real_f), "colorfulness": colorfulness(fake_f)}
        for k, v in vals.items():
            self.per_frame[k] += [float(x) for x in v.reshape(-1)]
        self.index += idx
        self.hist_fake.append(channel_histograms(fake))
        self.hist_real.append(channel_histograms(real))
        self._flicker_update("fake", fake)
        self._flicker_update("real", real)

    def shot_mean(self, key: str, cuts: list[int]) -> float:
        """Mean over shots of each shot's mean ``key`` (shots with no scored frame left out)."""
        starts = sorted({0, *cuts})
        shot = [sum(1 for c in starts if c <= i) for i in self.index]
        means = [sum(v for v, s in zip(self.per_frame[key], shot) if s == k) / shot.count(k)
                 for k in sorted(set(shot))]
        return sum(means) / len(means) if means else float("nan")

    def compute(self) -> dict[str, float]:
        if not self.index:
            raise ValueError("no frame was scored: every frame of the clip is a reference frame.")
        m = {k: sum(v) / len(v) for k, v in self.per_frame.items()}
        steady = self.delta["real"] < 1e-9
        return {"frames": len(self.index), **m,
                "cdc": cdc(torch.cat(self.hist_fake)), "cdc_gt": cdc(torch.cat(self.hist_real)),
                "flicker": float("nan") if steady else self.delta["fake"] / self.delta["real"]}


def _rows_stream(path: str | Path, colorizer: Colorizer | None, mode: str, strength: float,
                 scene_threshold: float, batch_size: int, max_frames: int | None,
                 plan: ReferencePlan | None, carry_tau: float, carry_fill: bool):
    """(truth uint8 (B, 3, H, W), output uint8 (B, 3, H, W)) per batch for one row."""
    frames = Prefetch(read_frames(path, max_frames))
    if mode == "gray" or mode in NAIVE_MODES:
        naive = NaiveColour(plan, mode) if mode in NAIVE_MODES else None
        done = 0
        for batch in batched(frames, batch_size):
            real = to_tensor(batch)
            yield real, (gray_frames(real) if naive is None else naive(real, done))
            done += len(batch)
        return
    ref = mode == "reference"  # shots without a reference: the automatic mode
    auto = "dependent" if colorizer.temporal else "independent"
    tc = TemporalColorizer(colorizer, auto if ref else mode, strength, scene_threshold,
                           known_cuts=None if plan is None else plan.cuts,
                           references=plan.refs if ref else None, carry_tau=carry_tau,
                           carry_fill=carry_fill)
    # the colorizer only reads luminance, so feeding colour frames is feeding their gray
    for batch, fake, _ in colorize_stream(frames, tc, batch_size):
        yield to_tensor(batch), fake


def evaluate_video(path: str | Path, colorizer: Colorizer | None, mode: str = "independent",
                   strength: float = 0.6, scene_threshold: float = DEFAULT_THRESHOLD,
                   batch_size: int = 8, max_frames: int | None = None,
                   reference_frames: str | ReferencePlan | None = None,
                   carry_tau: float = TAU, carry_fill: bool = False) -> dict[str, float]:
    """Gray out a colour video, colour it with ``mode`` (a temporal mode, ``gray``; with
    ``reference_frames``: first, every:N, a folder or a plan, also ``naive_copy``, ``naive_mean``,
    ``reference``) and measure it against the original, the reference frames left out."""
    plan = reference_frames
    if isinstance(plan, str):
        plan = plan_references(path, plan, max_frames, scene_threshold=scene_threshold)
    if plan is None and (mode in NAIVE_MODES or mode == "reference"):
        raise ValueError(f"mode {mode}: needs --reference-frames (first, every:N or a folder).")
    vm = VideoMetrics()
    for real, fake in _rows_stream(path, colorizer, mode, strength, scene_threshold, batch_size,
                                   max_frames, plan, carry_tau, carry_fill):
        keep = None if plan is None else [vm.seen + k not in plan.refs
                                          for k in range(real.shape[0])]
        vm.update(fake, real, keep)
    cuts = plan.cuts if plan is not None else []
    row = {"mode": mode, **vm.compute(), "psnr_shots": vm.shot_mean("psnr", cuts),
           "references": 0 if plan is None else len(plan.refs), "cuts": len(cuts)}
    if mode == "reference":
        row.update(carry_tau=carry_tau, carry_fill=carry_fill)
    return row


def format_table(rows: list[dict]) -> str:
    out = ["| mode | frames | PSNR (dB) | SSIM | CIEDE2000 | CDC | CDC (original) | flicker ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        label = r.get("label", r["mode"])
        out.append(f"| {label} | {r['frames']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                   f"{r['ciede2000']:.2f} | {r['cdc']:.5f} | {r['cdc_gt']:.5f} | "
                   f"{r['flicker']:.3f} |")
    return "\n".join(out)


__all__ = ["VideoMetrics", "cdc", "channel_histograms", "evaluate_video", "format_table",
           "js_divergence"]
