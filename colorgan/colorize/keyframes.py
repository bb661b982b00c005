"""Chroma keyframes: the generator colours every k-th frame of a shot, the frames between get
the keyframes' Cb, Cr planes (blended, or held), like a codec's key and predicted frames:
chroma changes slowly within a shot, and on a CPU the generator costs as much as the encoder.

On the luma passthrough path (``recombine="yuv"``) scene cuts are still detected on every frame;
a frame is a **keyframe** when it starts a scene or is ``interval`` frames after the previous
keyframe, or when a reference frame's colour is carried through its shot (optical flow, cheap).
Only keyframes go through the generator and the temporal mode (``dependent`` needs every
frame: ``interval=1``). ``blend=True``: a frame between keyframes a and b of one scene gets
``((b - t) * uv_a + (t - a) * uv_b) / (b - a)`` (integer maths, up to ``interval - 1`` frames
of lookahead); before a cut and at the film's end frames hold the last keyframe's planes
(``blend=False``: always). Every decoded frame is yielded once, in order.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from colorgan.colorize.temporal import TemporalColorizer
from colorgan.video.io import ColourTags, Frame

CPU_INTERVAL = 4  # auto on a CPU (measured on 2 cores: >= 0.9x transcode-only at 480p, 720p)


def auto_interval(interval: int | str, device: torch.device, mode: str) -> int:
    """``--keyframe-interval``: an int >= 1, or ``"auto"``: every frame on a GPU or with
    ``--temporal dependent``, every ``CPU_INTERVAL``-th on a CPU, where the generator would
    otherwise cost about as much as the encoder (docs/films.md, "Chroma keyframes")."""
    if interval == "auto":
        return 1 if device.type != "cpu" or mode == "dependent" else CPU_INTERVAL
    try:
        k = int(interval)
    except (TypeError, ValueError):
        k = 0
    if k < 1:
        raise ValueError(f"--keyframe-interval {interval!r}: an integer >= 1 (1 = every "
                         "frame) or auto.")
    return k


def blend_planes(a: np.ndarray, b: np.ndarray, t: int, n: int) -> np.ndarray:
    """uint8 planes (2, h, w): ``a`` at 0, ``b`` at ``n``; the planes at ``t`` (rounded)."""
    mix = a.astype(np.int32) * (n - t) + b.astype(np.int32) * t  # (2, h, w)
    return ((mix + n // 2) // n).astype(np.uint8)


def keyframe_planes(windows: Iterable[list[Frame]], temporal: TemporalColorizer,
                    tags: ColourTags, interval: int = 1, blend: bool = True,
                    ) -> Iterator[tuple[list[Frame], np.ndarray]]:
    """Windows of plane frames (one generator call each) -> (frames, Cb, Cr planes uint8
    (n, 2, H/2, W/2)) in order, the generator run on keyframes only (``interval`` from
    :func:`auto_interval`; 1: every frame)."""
    if interval > 1 and temporal.mode == "dependent":
        raise ValueError(f"--keyframe-interval {interval}: --temporal dependent colours every "
                         "frame from the previous one; use --keyframe-interval 1.")
    k = _Keyframes(temporal, tags, int(interval), blend)
    with ThreadPoolExecutor(1, thread_name_prefix="colorgan-planes") as pool:
        ready = None  # the previous window, its planes converted while this one is coloured
        for batch in windows:
            window = k.colour(batch, pool)
            if ready is not None:
                yield from k.emit(*ready)
            ready = window
        if ready is not None:
            yield from k.emit(*ready)
    if k.pending:  # the film's tail after its last keyframe holds that keyframe's colour
        yield k.pending, np.stack([k.last] * len(k.pending))


class _Keyframes:
    def __init__(self, temporal: TemporalColorizer, tags: ColourTags, interval: int,
                 blend: bool) -> None:
        self.temporal, self.tags, self.interval, self.blend = temporal, tags, interval, blend
        self.since = 0                          # frames since the last keyframe
        self.seen = 0                           # frames of the film seen so far
        self.last: np.ndarray | None = None     # (2, h, w) planes of the last keyframe
        self.pending: list[Frame] = []          # frames after it, waiting for the next one

    def colour(self, batch: list[Frame], pool: ThreadPoolExecutor
               ) -> tuple[list[Frame], list[bool], list[bool], Future | None]:
        """A window's keyframes coloured, in order (the temporal state lives here); their
        Cb, Cr planes are converted in ``pool``, beside the next window's colouring."""
        c, tags = self.temporal.c, self.tags
        y = torch.from_numpy(np.stack([f.yuv[0] for f in batch]))[:, None]  # (B, 1, H, W)
        prep = c.prepare_luma(y, tags.full_range, carry=self.temporal.carrying)
        starts = self.temporal.scene_starts(prep.luma)
        indices = list(range(self.seen, self.seen + len(batch)))  # the frames' place in the film
        self.seen += len(batch)
        keys = []
        for start, t in zip(starts, indices):  # a frame carried from a reference: every one
            keys.append(start or self.since >= self.interval or self.temporal.carries(t))
            self.since = 1 if keys[-1] else self.since + 1
        idx = [i for i, k in enumerate(keys) if k]
        planes = None
        if idx:
            sub = prep.take(idx)
            ab = self.temporal(sub, [starts[i] for i in idx], [indices[i] for i in idx])
            planes = pool.submit(c.finish_planes, sub, ab, tags.matrix, tags.full_range)
        return batch, keys, starts, planes

    def emit(self, batch: list[Frame], keys: list[bool], starts: list[bool],
             planes: Future | None) -> Iterator[tuple[list[Frame], np.ndarray]]:
        """The window's frames with their planes: keyframes' own, blended or held between."""
        uv = iter(planes.result().numpy()) if planes is not None else iter(())
        out_f: list[Frame] = []
        out_uv: list[np.ndarray] = []
        for f, key, start in zip(batch, keys, starts):
            if not key:
                if self.blend:
                    self.pending.append(f)
                else:
                    out_f.append(f)
                    out_uv.append(self.last)
                continue
            own = next(uv)  # (2, h, w)
            n = len(self.pending) + 1
            for t, p in enumerate(self.pending, 1):  # between the previous keyframe and this
                out_f.append(p)
                out_uv.append(self.last if start else blend_planes(self.last, own, t, n))
            self.pending = []
            out_f.append(f)
            out_uv.append(own)
            self.last = own
        if out_f:
            yield out_f, np.stack(out_uv)


__all__ = ["blend_planes", "keyframe_planes"]
