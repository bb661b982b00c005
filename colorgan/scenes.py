"""Scene-cut detection on luminance: a cut is where the histogram distance between
consecutive frames exceeds a threshold (the classic shot-boundary test, e.g. Zhang,
Kankanhalli & Smoliar 1993). Used by dataset splits, film colorization and `colorgan scenes`.

:func:`make_detector` also offers PySceneDetect's detectors (the optional ``scenes`` extra)
behind the same streaming interface; ``docs/films.md`` compares them on real and joined clips.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colorgan.color import luma_to_gray, rgb_to_gray, uint8_to_float

DEFAULT_THRESHOLD = 0.25  # best F1 on benchmarks/scene_cuts.py (docs/films.md)
DEFAULT_BINS = 64
SCENE_SIZE = 128  # luminance is compared at this size: enough for histograms, cheap
DETECTORS = ("colorgan", "pyscenedetect-content", "pyscenedetect-adaptive",
             "pyscenedetect-histogram", "pyscenedetect-hash")


def frame_luma(frames: torch.Tensor, size: int = SCENE_SIZE) -> torch.Tensor:
    """uint8/float RGB (B, 3, H, W) -> gray (B, 1, size, size) in [0, 1] for cut detection."""
    rgb = uint8_to_float(frames)
    small = F.interpolate(rgb, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
    return rgb_to_gray(small.clamp(0, 1))


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


class FrameCuts:
    """colorgan's detector on decoded frames: ``update(rgb)`` -> indices of frames found to
    start a scene (this frame or none); ``flush()`` at the end of the stream (always [])."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, min_scene_len: int = 1) -> None:
        self.detector, self.index = SceneDetector(threshold, min_scene_len=min_scene_len), -1

    def update(self, rgb: np.ndarray) -> list[int]:
        """(H, W, 3) uint8 RGB frame."""
        self.index += 1
        luma = frame_luma(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0]  # (1, s, s)
        return [self.index] if self.detector.update(luma) else []

    def update_y(self, y: np.ndarray, full_range: bool = False) -> list[int]:
        """The same from a decoded Y' plane (H, W) uint8: no RGB conversion (a first pass)."""
        self.index += 1
        small = F.adaptive_avg_pool2d(torch.from_numpy(y)[None, None].float(), SCENE_SIZE)
        return [self.index] if self.detector.update(luma_to_gray(small[0], full_range)) else []

    def flush(self) -> list[int]:
        return []


def make_detector(name: str = "colorgan", threshold: float | None = None,
                  min_scene_len: int | None = None, fps: float = 25.0):
    """A streaming cut detector by name (:data:`DETECTORS`; ``colorgan-0.25`` = colorgan's at
    threshold 0.25). ``threshold``/``min_scene_len`` None = the detector's own default."""
    if name.startswith("colorgan"):
        t = float(name.split("-", 1)[1]) if "-" in name else threshold
        return FrameCuts(DEFAULT_THRESHOLD if t is None else t, min_scene_len or 1)
    if name not in DETECTORS:
        raise ValueError(f"scene detector {name!r}: choose one of {', '.join(DETECTORS)}.")
    from colorgan.scenes_pyscenedetect import PySceneDetectCuts
    return PySceneDetectCuts(name.split("-", 1)[1], threshold, min_scene_len, fps)


def find_cuts(path: Path, threshold: float | None = None, min_scene_len: int | None = None,
              max_frames: int | None = None, detector: str = "colorgan") -> list[tuple[int, float]]:
    """(frame index, time in seconds) of every frame that starts a new scene: one pass over
    the video with the named detector (``colorgan scenes``; ``colorgan colorize
    --scene-detector`` runs it before colorizing, since PySceneDetect answers frames late)."""
    return scan_cuts(path, threshold, min_scene_len, max_frames, detector)[0]


def scan_cuts(path: Path, threshold: float | None = None, min_scene_len: int | None = None,
              max_frames: int | None = None, detector: str = "colorgan",
              ) -> tuple[list[tuple[int, float]], int]:
    """:func:`find_cuts` and the number of frames decoded, from the same pass."""
    from colorgan.utils.pipeline import Prefetch
    from colorgan.video.io import probe, read_frames

    info = probe(path)
    det, times, cuts = make_detector(detector, threshold, min_scene_len,
                                     float(info.rate or 25)), [], []
    planes = isinstance(det, FrameCuts)  # colorgan's own detector reads the Y' plane
    for f in Prefetch(read_frames(path, max_frames, planes=planes)):
        times.append(f.time)
        cuts += det.update_y(f.yuv[0], info.tags.full_range) if planes else det.update(f.rgb)
    return [(i, times[i]) for i in cuts + det.flush()], len(times)


def scene_ids(lumas: Iterable[torch.Tensor], **kwargs) -> Iterator[int]:
    """Per-frame scene index: 0 for the first scene, +1 after each cut."""
    det, scene = SceneDetector(**kwargs), 0
    for y in lumas:
        scene += int(det.update(y))
        yield scene
