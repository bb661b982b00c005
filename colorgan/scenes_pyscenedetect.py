"""PySceneDetect's cut detectors (https://www.scenedetect.com) behind colorgan's streaming
interface, fed the frames colorgan already decodes with PyAV (no second video backend).

Needs the optional extra: ``pip install "colorgan[scenes]"``. Frames are scaled like
PySceneDetect's ``SceneManager`` does (to about 256 px wide) and, for the content detectors,
compared on luma only: colorgan's films are black and white.
"""
from __future__ import annotations

import numpy as np

EFFECTIVE_WIDTH = 256  # scenedetect.scene_manager.DEFAULT_MIN_WIDTH


def _import():
    try:
        import cv2
        import scenedetect
    except ImportError as e:  # a ValueError: the CLI reports it as a user error, one line
        raise ValueError(
            f"scene detector 'pyscenedetect-*' needs PySceneDetect and OpenCV ({e.name} is "
            "missing): pip install \"colorgan[scenes]\", or use --detector colorgan."
        ) from e
    return cv2, scenedetect


class PySceneDetectCuts:
    """``update(rgb)`` -> indices of frames that start a scene (the adaptive detector answers
    ``window_width`` frames late); ``flush()`` at the end of the stream."""

    def __init__(self, kind: str, threshold: float | None = None,
                 min_scene_len: int | None = None, fps: float = 25.0) -> None:
        cv2, sd = _import()
        self.cv2, self.fps, self.index = cv2, float(fps), -1
        kw = {} if min_scene_len is None else {"min_scene_len": int(min_scene_len)}
        if kind == "content":
            det = sd.ContentDetector(**kw, luma_only=True,
                                     **({} if threshold is None else {"threshold": threshold}))
        elif kind == "adaptive":
            det = sd.AdaptiveDetector(**kw, luma_only=True, **(
                {} if threshold is None else {"adaptive_threshold": threshold}))
        elif kind == "histogram":
            det = sd.HistogramDetector(**kw, **({} if threshold is None else {"threshold": threshold}))
        elif kind == "hash":
            det = sd.HashDetector(**kw, **({} if threshold is None else {"threshold": threshold}))
        else:
            raise ValueError(f"PySceneDetect detector {kind!r}: content, adaptive, histogram or hash.")
        self.detector = det
        self._timecode = sd.FrameTimecode

    def _tc(self, i: int):
        return self._timecode(i, fps=self.fps)

    def update(self, rgb: np.ndarray) -> list[int]:
        """(H, W, 3) uint8 RGB frame."""
        self.index += 1
        h, w = rgb.shape[:2]
        if w > EFFECTIVE_WIDTH:
            f = w / EFFECTIVE_WIDTH
            rgb = self.cv2.resize(rgb, (round(w / f), round(h / f)),
                                  interpolation=self.cv2.INTER_LINEAR)
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        return [t.frame_num for t in self.detector.process_frame(self._tc(self.index), bgr)
                if t.frame_num > 0]

    def flush(self) -> list[int]:
        if self.index < 0:
            return []
        return [t.frame_num for t in self.detector.post_process(self._tc(self.index))
                if t.frame_num > 0]
