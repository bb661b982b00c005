"""Temporal modes for films: how each frame's chroma depends on the frames before it.

- ``independent``: every frame on its own.
- ``dependent``: the generator also sees the chroma it gave the frame ``frame_step`` frames
  back (zeros at the first frame and after every cut), as in frame-recurrent video colorization
  (e.g. Lei & Chen 2019, "Fully automatic video colorization with self-regularization and diversity").
- ``smooth``: any model; chroma is exponentially smoothed across frames within a scene and reset
  at cuts (a simple stand-in for blind temporal consistency, Lai et al. 2018, arXiv:1808.00449).

Cuts come from :class:`colorgan.scenes.SceneDetector` on the frames' luminance as they stream
by, or are known in advance (``known_cuts``: a first pass with PySceneDetect, whose detectors
answer frames late, ``colorgan colorize --scene-detector``).

``frame_step`` is the pair spacing used at both ends: a dependent model trained on frames
sampled at ``data.fps`` (stored as ``temporal.pair_fps`` in its checkpoint) is shown, for a
film at ``rate`` frames/s, the frame ``round(rate / pair_fps)`` frames back (the scene's first
frame while the scene is younger than that).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from fractions import Fraction

import torch

from colorgan.colorize.colorizer import TEMPORAL_MODES, Colorizer, Prepared
from colorgan.scenes import DEFAULT_THRESHOLD, SCENE_SIZE, SceneDetector, frame_luma


class TemporalColorizer:
    """Chroma for a stream of prepared batches, frame order kept across batches.

    ``cuts`` collects the indices of frames that start a new scene (0 is not listed).
    """

    def __init__(self, colorizer: Colorizer, mode: str = "independent", strength: float = 0.6,
                 scene_threshold: float = DEFAULT_THRESHOLD, min_scene_len: int = 1,
                 rate: Fraction | float | None = None, frame_step: int | None = None,
                 known_cuts: Iterable[int] | None = None) -> None:
        colorizer.check_mode(mode)
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"--strength {strength}: must be in [0, 1) (0 = no smoothing).")
        self.c, self.mode, self.strength = colorizer, mode, float(strength)
        self.detector = SceneDetector(scene_threshold, min_scene_len=min_scene_len)
        self.known_cuts = None if known_cuts is None else {int(i) for i in known_cuts}
        self.cuts: list[int] = []
        self.index = 0                              # next frame's index in the stream
        self.prev_ab: torch.Tensor | None = None    # (1, 2, s, s) carried across batches
        if frame_step is None:
            pair_fps = getattr(colorizer, "pair_fps", None)
            frame_step = round(float(rate) / pair_fps) if pair_fps and rate else 1
        if int(frame_step) < 1:
            raise ValueError(f"--frame-step {frame_step}: must be >= 1.")
        self.frame_step = max(1, int(frame_step))
        self.history: deque[torch.Tensor] = deque(maxlen=self.frame_step)  # this scene's last ab

    def scene_starts(self, luma: torch.Tensor) -> list[bool]:
        """Per frame of the batch: does it start a scene (first frame or a cut)?"""
        starts = []
        for y in luma:  # (1, s, s)
            cut = (self.index in self.known_cuts if self.known_cuts is not None
                   else self.detector.update(y))
            if cut:
                self.cuts.append(self.index)
            starts.append(cut or self.index == 0)
            self.index += 1
        return starts

    @torch.no_grad()
    def __call__(self, prep: Prepared, starts: list[bool] | None = None) -> torch.Tensor:
        """Prepared batch -> normalised ab (B, 2, s, s) for its frames.

        ``starts`` (scene starts, from :meth:`scene_starts`) is given when the batch holds only
        some frames of the stream (chroma keyframes): cuts are then not detected again.
        """
        if starts is None:
            starts = self.scene_starts(prep.luma)
        if self.mode == "independent":
            return self.c.predict_ab(prep.real_A)
        if self.mode == "dependent":  # sequential by nature: frame t needs frame t-1's colour
            out = []
            for i, start in enumerate(starts):
                if start:
                    self.history.clear()
                prev = self.history[0] if self.history else None  # frame_step back (or less)
                self.prev_ab = self.c.predict_ab(prep.real_A[i:i + 1], prev)  # (1, 2, s, s)
                self.history.append(self.prev_ab)
                out.append(self.prev_ab)
            return torch.cat(out)
        ab = self.c.predict_ab(prep.real_A)  # smooth: batched model, sequential filter
        out = []
        for i, start in enumerate(starts):
            cur = ab[i:i + 1]
            if not start and self.prev_ab is not None:
                cur = self.strength * self.prev_ab + (1.0 - self.strength) * cur
            self.prev_ab = cur
            out.append(cur)
        return torch.cat(out)


__all__ = ["SCENE_SIZE", "TEMPORAL_MODES", "TemporalColorizer", "frame_luma"]
