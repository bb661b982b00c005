"""Which reference frame steers each frame of a film, and the carriers that move its colour.

A reference frame steers its shot (the frames between the cut before it and the cut after it):
from the reference forwards until the shot's next reference, and, before the shot's first
reference, backwards to the shot's start. Colour never crosses a cut; a shot without a
reference is left to the automatic mode. The stream runs forwards, so at most the carriers of
the current shot are alive and memory stays constant (:mod:`colorgan.colorize.carry`).
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

import torch

from colorgan.colorize.carry import FLOW_PRESETS, TAU, ShotCarrier, gray_u8


class ShotReferences:
    """``references`` {frame index: uint8 RGB (3, H, W)} and the film's cuts (frames that start
    a shot, 0 implied) -> per frame, the colour carried from its shot's reference."""

    def __init__(self, references: dict[int, torch.Tensor], cuts: Iterable[int],
                 tau: float = TAU, preset: str = "medium") -> None:
        if not tau > 0:
            raise ValueError(f"--carry-tau {tau}: must be > 0 (the lightness disagreement at "
                             "which the carried colour gives way).")
        if preset not in FLOW_PRESETS:
            raise ValueError(f"--carry-flow {preset!r}: choose one of {', '.join(FLOW_PRESETS)}.")
        self.refs, self.tau, self.preset = references, float(tau), preset
        self.starts = sorted({0, *(int(c) for c in cuts)})
        self.by_shot: dict[int, list[int]] = {}
        for r in sorted(references):
            self.by_shot.setdefault(self.shot_of(r), []).append(r)
        self.carriers: dict[int, ShotCarrier] = {}

    def shot_of(self, t: int) -> int:
        """The first frame of frame ``t``'s shot."""
        return self.starts[bisect_right(self.starts, t) - 1]

    def source(self, t: int) -> tuple[int, bool] | None:
        """(the reference steering frame ``t``, whether it is carried straight from it, i.e.
        ``t`` comes before it in the shot), or None: the shot has no reference."""
        refs = self.by_shot.get(self.shot_of(t))
        if not refs:
            return None
        k = bisect_right(refs, t)
        return (refs[k - 1], False) if k else (refs[0], True)

    def carries(self, t: int) -> bool:
        return self.source(t) is not None

    def carrier(self, r: int) -> ShotCarrier:
        """Reference ``r``'s carrier; those of earlier references are let go (never needed
        again: the stream runs forwards)."""
        if r not in self.carriers:
            self.carriers = {k: c for k, c in self.carriers.items() if k > r}
            self.carriers[r] = ShotCarrier(self.refs[r], self.tau, self.preset)
        return self.carriers[r]

    def palette(self, t: int) -> torch.Tensor | None:
        """The global hint (1, D) of the reference steering frame ``t`` (None: no reference)."""
        src = self.source(t)
        return None if src is None else self.carrier(src[0]).palette

    def ab(self, t: int, gray: torch.Tensor, fill: torch.Tensor | None = None) -> torch.Tensor:
        """Frame ``t`` (in order) with its gray (1, 1, h, w) in [0, 1] at the carry grid
        [+ a fill ab where the carry is unsure] -> its ab (1, 2, h, w) at the carry grid."""
        r, anchor = self.source(t)
        c = self.carrier(r)
        if t == r:
            return c.at_reference()  # the colorist's own colour; the chain restarts from it
        return c.step(gray_u8(gray), fill, anchor)[0]


__all__ = ["ShotReferences"]
