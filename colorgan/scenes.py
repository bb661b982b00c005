"""Scene-cut detection on luminance: a cut is where the histogram distance between
consecutive frames exceeds a threshold (the classic shot-boundary test, e.g. Zhang,
Kankanhalli & Smoliar 1993). Used by dataset splits, film colorization and `colorgan scenes`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

DEFAULT_THRESHOLD = 0.35
DEFAULT_BINS = 64


def luma_histogram(luma: torch.Tensor, bins: int = DEFAULT_BINS) -> torch.Tensor:
    """(H, W) or (1, H, W) luminance (uint8 or float in [0, 1]) -> normalised histogram (bins,)."""
    x = luma.float()
    if luma.dtype == torch.uint8:
        x = x / 255.0
    hist = torch.histc(x.flatten().clamp(0, 1), bins=bins, min=0.0, max=1.0)
    return hist / hist.sum().clamp_min(1.0)


def histogram_distance(h1: torch.Tensor, h2: torch.Tensor) -> float:
    """Total-variation distance between two normalised histograms, in [0, 1]."""
    return 0.5 * float((h1 - h2).abs().sum())


class SceneDetector:
    """Streaming cut detector: feed frames one at a time; ``update`` returns True at a cut.

    The first frame starts a scene but is not a cut. ``min_scene_len`` frames must pass
    before another cut is accepted (guards against flashes).
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, bins: int = DEFAULT_BINS,
                 min_scene_len: int = 1) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"scene threshold={threshold} must be in (0, 1].")
        self.threshold, self.bins, self.min_scene_len = float(threshold), int(bins), int(min_scene_len)
        self.reset()

    def reset(self) -> None:
        self._prev: torch.Tensor | None = None
        self._since_cut = 0
        self.last_distance = 0.0

    def update(self, luma: torch.Tensor) -> bool:
        hist = luma_histogram(luma, self.bins)
        cut = False
        if self._prev is not None:
            self.last_distance = histogram_distance(self._prev, hist)
            cut = self.last_distance > self.threshold and self._since_cut >= self.min_scene_len
        self._prev = hist
        self._since_cut = 0 if cut else self._since_cut + 1
        return cut


def detect_cuts(lumas: Iterable[torch.Tensor], threshold: float = DEFAULT_THRESHOLD,
                bins: int = DEFAULT_BINS, min_scene_len: int = 1) -> list[int]:
    """Indices of frames that start a new scene (0 is never listed)."""
    det = SceneDetector(threshold, bins, min_scene_len)
    return [i for i, y in enumerate(lumas) if det.update(y)]


def scene_ids(lumas: Iterable[torch.Tensor], **kwargs) -> Iterator[int]:
    """Per-frame scene index: 0 for the first scene, +1 after each cut."""
    det, scene = SceneDetector(**kwargs), 0
    for y in lumas:
        scene += int(det.update(y))
        yield scene
