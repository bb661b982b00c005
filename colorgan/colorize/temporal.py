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
import torch.nn.functional as F

from colorgan.colorize.carry import TAU
from colorgan.colorize.colorizer import TEMPORAL_MODES, Colorizer, Prepared
from colorgan.colorize.shot_references import ShotReferences
from colorgan.scenes import DEFAULT_THRESHOLD, SceneDetector


class TemporalColorizer:
    """Chroma for a stream of prepared batches, frame order kept across batches.

    ``cuts`` collects the indices of frames that start a new scene (0 is not listed).
    ``references`` {frame index: uint8 RGB (3, H, W)} steer their shots (``known_cuts`` needed);
    ``palette`` (1, D), a reference photo's global hint, steers every automatic frame of a hint
    checkpoint; ``carry_fill``: where the carried colour is unsure, the generator's colour
    (steered by the shot reference's palette) takes over; ``carry_flow``: the optical flow's
    preset (:data:`colorgan.colorize.carry.FLOW_PRESETS`, faster and rougher first).
    """

    def __init__(self, colorizer: Colorizer, mode: str = "independent", strength: float = 0.6,
                 scene_threshold: float = DEFAULT_THRESHOLD, min_scene_len: int = 1,
                 rate: Fraction | float | None = None, frame_step: int | None = None,
                 known_cuts: Iterable[int] | None = None,
                 references: dict[int, torch.Tensor] | None = None,
                 palette: torch.Tensor | None = None, carry_tau: float = TAU,
                 carry_fill: bool = False, carry_flow: str = "medium") -> None:
        colorizer.check_mode(mode)
        if references and known_cuts is None:
            raise ValueError("reference frames need the film's cuts in advance (known_cuts: "
                             "colorgan.scenes.find_cuts).")
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
        self.shots = ShotReferences(references, known_cuts, carry_tau, carry_flow) \
            if references else None
        self.palette, self.carry_fill = palette, bool(carry_fill)
        self.batch_indices: list[int] = []  # frame indices of the last batch of scene_starts

    @property
    def carrying(self) -> bool:
        """Whether reference frames steer some shots (frames then need their carry grid)."""
        return self.shots is not None

    def carries(self, index: int) -> bool:
        """Whether frame ``index`` takes its colour from a reference frame."""
        return self.shots is not None and self.shots.carries(index)

    def scene_starts(self, luma: torch.Tensor) -> list[bool]:
        """Per frame of the batch: does it start a scene (first frame or a cut)?"""
        starts, self.batch_indices = [], []
        for y in luma:  # (1, s, s)
            cut = (self.index in self.known_cuts if self.known_cuts is not None
                   else self.detector.update(y))
            if cut:
                self.cuts.append(self.index)
            starts.append(cut or self.index == 0)
            self.batch_indices.append(self.index)
            self.index += 1
        return starts

    @torch.no_grad()
    def __call__(self, prep: Prepared, starts: list[bool] | None = None,
                 indices: list[int] | None = None) -> torch.Tensor:
        """Prepared batch -> normalised ab (B, 2, s, s) for its frames (with references: at the
        carry grid, (B, 2, h', w')).

        ``starts`` (scene starts, from :meth:`scene_starts`) and the frames' ``indices`` are
        given when the batch holds only some frames of the stream (chroma keyframes): cuts are
        then not detected again.
        """
        if starts is None:
            starts = self.scene_starts(prep.luma)
            indices = self.batch_indices
        if self.shots is None:
            return self._auto(prep, starts)
        return self._guided(prep, starts, indices)

    def _guided(self, prep: Prepared, starts: list[bool], indices: list[int]) -> torch.Tensor:
        """Carried colour for frames of shots with a reference, the automatic mode for the rest,
        all at the carry grid (B, 2, h', w')."""
        if prep.carry is None:
            raise ValueError("reference frames: the batch was prepared without its carry grid "
                             "(Colorizer.prepare(..., carry=True)).")
        size = prep.carry.shape[-2:]
        carried = [self.shots.carries(t) for t in indices]
        out: list[torch.Tensor | None] = [None] * len(indices)
        auto = [i for i, c in enumerate(carried) if not c]
        if auto:
            ab = self._auto(prep.take(auto), [starts[i] for i in auto])  # (A, 2, s, s)
            ab = F.interpolate(ab.float(), size=size, mode="bilinear", align_corners=False)
            for k, i in enumerate(auto):
                out[i] = ab[k:k + 1]
        steered = [i for i, c in enumerate(carried) if c]
        fills: dict[int, torch.Tensor] = {}
        if self.carry_fill and steered:  # the generator, steered by each reference's palette
            pal = torch.cat([self.shots.palette(indices[i]) for i in steered]) \
                if self.c.supports_hints else None  # (K, D)
            ab = self.c.predict_ab(prep.real_A[steered], palette=pal)  # (K, 2, s, s), one call
            fills = {i: ab[k:k + 1] for k, i in enumerate(steered)}
        for i in steered:
            ab = self.shots.ab(indices[i], prep.carry[i:i + 1], fills.get(i))
            out[i] = ab.to(prep.real_A.device)
        return torch.cat(out)  # (B, 2, h', w')

    def _auto(self, prep: Prepared, starts: list[bool]) -> torch.Tensor:
        """The automatic mode's ab (B, 2, s, s), frame order kept across calls."""
        pal = self.palette
        if self.mode == "independent":
            return self.c.predict_ab(prep.real_A, palette=pal)
        if self.mode == "dependent":  # sequential by nature: frame t needs frame t-1's colour
            out = []
            for i, start in enumerate(starts):
                if start:
                    self.history.clear()
                prev = self.history[0] if self.history else None  # frame_step back (or less)
                self.prev_ab = self.c.predict_ab(prep.real_A[i:i + 1], prev, palette=pal)
                self.history.append(self.prev_ab)
                out.append(self.prev_ab)
            return torch.cat(out)
        ab = self.c.predict_ab(prep.real_A, palette=pal)  # smooth: batched model, then a filter
        out = []
        for i, start in enumerate(starts):
            cur = ab[i:i + 1]
            if not start and self.prev_ab is not None:
                cur = self.strength * self.prev_ab + (1.0 - self.strength) * cur
            self.prev_ab = cur
            out.append(cur)
        return torch.cat(out)


__all__ = ["TEMPORAL_MODES", "TemporalColorizer"]
