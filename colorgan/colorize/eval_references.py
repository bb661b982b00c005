"""Reference frames for ``colorgan eval-video --reference-frames``, and the naive rows.

``first``: the true colour of the first frame of each shot (frame 0 and every cut found by
:func:`colorgan.scenes.find_cuts`, or the cuts given); ``every:N``: the true colour of frames
0, N, 2N, ... (every N-th frame, whatever the cuts); a folder: the colorist's frames
(``colorgan.colorize.reference_frames.load_reference_frames``).

Each frame of a shot takes its colour from the shot's reference (:func:`shot_sources`): the
last reference at or before it in the shot, or, before the shot's first reference, that first
reference; shots without a reference have none. The naive rows use it without any motion:
``naive_copy`` pastes the reference's full-resolution ab onto every frame's own L,
``naive_mean`` the reference's mean ab.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from colorgan.color import float_to_uint8, lab_norm_to_rgb, rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.shot_references import ShotReferences
from colorgan.media import InputError
from colorgan.video.io import probe, read_frames

NAIVE_MODES = ("naive_copy", "naive_mean")


@dataclass
class ReferencePlan:
    """Which frames are references (index -> uint8 RGB (3, H, W)) and where the shots start."""

    spec: str
    refs: dict[int, torch.Tensor]
    cuts: list[int]
    frames: int
    sources: list[int | None] = field(default_factory=list)  # per frame: its reference's index

    def __post_init__(self) -> None:
        self.sources = shot_sources(self.frames, self.cuts, self.refs)


def parse_spec(value: str) -> tuple[str, int | Path | None]:
    """``first`` | ``every:N`` | a folder -> (kind, argument); a bad value names the option."""
    if value == "first":
        return "first", None
    if value.startswith("every:"):
        n = value.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--reference-frames {value}: every:N needs a whole number of "
                             "frames N >= 1 (e.g. every:24).")
        return "every", int(n)
    folder = Path(value)
    if not folder.is_dir():
        raise InputError(f"--reference-frames {value}: no such folder; give first, every:N "
                         "or a folder of coloured frames (000120.png = frame 120).")
    return "folder", folder


def shot_sources(frames: int, cuts: list[int], refs: dict[int, torch.Tensor]) -> list[int | None]:
    """Per frame, the index of the reference it takes its colour from (None: its shot has none),
    as the reference row carries it (:class:`colorgan.colorize.shot_references.ShotReferences`)."""
    shots = ShotReferences(refs, [c for c in cuts if 0 < c < frames])
    return [None if (s := shots.source(t)) is None else s[0] for t in range(frames)]


def plan_references(path: str | Path, spec: str, max_frames: int | None = None,
                    cuts: list[int] | None = None, scene_threshold: float | None = None,
                    ) -> ReferencePlan:
    """The references of ``spec`` for the clip at ``path`` (one or two decoding passes)."""
    kind, arg = parse_spec(spec)
    n = None
    if cuts is None:  # the cut pass also counts the frames
        from colorgan.scenes import scan_cuts
        found, n = scan_cuts(Path(path), scene_threshold, None, max_frames)
        cuts = [i for i, _ in found]
    if kind == "folder":
        from colorgan.colorize.reference_frames import load_reference_frames
        info = probe(path)
        n = sum(1 for _ in read_frames(path, max_frames)) if n is None else n
        refs = load_reference_frames(arg, info.width, info.height, n, info.rate)
        return ReferencePlan(spec, dict(refs), list(cuts), n)
    refs, n = {}, 0
    for f in read_frames(path, max_frames):
        n += 1
        if (kind == "first" and (f.index == 0 or f.index in cuts)) or \
                (kind == "every" and f.index % int(arg) == 0):
            refs[f.index] = torch.from_numpy(f.rgb).permute(2, 0, 1).contiguous()  # (3, H, W)
    return ReferencePlan(spec, refs, list(cuts), n)


class NaiveColour:
    """The naive rows: each frame's own L with its reference's ab copied (``naive_copy``) or
    its mean ab (``naive_mean``); frames of shots without a reference stay gray."""

    def __init__(self, plan: ReferencePlan, mode: str) -> None:
        if mode not in NAIVE_MODES:
            raise ValueError(f"naive mode {mode!r}: choose one of {NAIVE_MODES}.")
        self.plan, self.mode = plan, mode
        self._ab: dict[int, torch.Tensor] = {}

    def ref_ab(self, index: int) -> torch.Tensor:
        """The reference's normalised ab (1, 2, H, W), or its mean (1, 2, 1, 1)."""
        if index not in self._ab:
            ab = rgb_to_lab_norm(uint8_to_float(self.plan.refs[index][None]))[1]
            self._ab[index] = ab.mean(dim=(2, 3), keepdim=True) if self.mode == "naive_mean" else ab
        return self._ab[index]

    def __call__(self, real: torch.Tensor, first_index: int) -> torch.Tensor:
        """uint8 (B, 3, H, W) frames (their L is kept) -> uint8 (B, 3, H, W)."""
        L, _ = rgb_to_lab_norm(uint8_to_float(real))  # (B, 1, H, W)
        abs_ = []
        for k in range(real.shape[0]):
            src = self.plan.sources[first_index + k]
            ab = self.ref_ab(src) if src is not None else L.new_zeros(1, 2, 1, 1)
            abs_.append(ab.expand(1, 2, *L.shape[-2:]))
        return float_to_uint8(lab_norm_to_rgb(L, torch.cat(abs_)))


def gray_frames(real: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> the same frames with ab = 0 (the gray row), uint8."""
    L, ab = rgb_to_lab_norm(uint8_to_float(real))
    return float_to_uint8(lab_norm_to_rgb(L, torch.zeros_like(ab)))


__all__ = ["NAIVE_MODES", "NaiveColour", "ReferencePlan", "gray_frames", "parse_spec",
           "plan_references", "shot_sources"]
