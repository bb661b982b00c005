"""Film colorization: decode -> batches -> model -> encode, overlapped in a :class:`Pipeline`.

Default (``recombine="yuv"``, luma passthrough): frames are decoded as Y'CbCr planes, the
generator sees a downscaled Y', and only new Cb, Cr planes are computed at chroma resolution;
the decoded Y' plane goes to the encoder bit-exact, so the film keeps its own luma up to the
encoder's loss. ``recombine="lab"`` decodes to RGB and recombines full-resolution L with the
predicted ab in Lab (needed for ``compare`` and odd frame sizes). No frame touches the disk.
"""
from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from colorgan.colorize.carry import TAU
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.keyframes import auto_interval, keyframe_planes
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.scenes import DEFAULT_THRESHOLD, scan_cuts
from colorgan.utils.atomic import atomic_output, temp_path_for
from colorgan.utils.pipeline import Pipeline
from colorgan.video.io import ColourTags, Frame, VideoError, VideoWriter, probe, read_frames

RECOMBINE_MODES = ("yuv", "lab")
QUEUE_DEPTH = 16  # frames waiting per hand-off: memory is bounded by this, not the film's length


def batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for f in frames:
        batch.append(f)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def to_tensor(batch: list[Frame]) -> torch.Tensor:
    """Frames -> uint8 (B, 3, H, W)."""
    return torch.from_numpy(np.stack([f.rgb for f in batch])).permute(0, 3, 1, 2)


def is_colour(frames: torch.Tensor, tol: float = 8.0) -> bool:
    """Whether uint8 (B, 3, H, W) frames carry colour (channel spread above ``tol`` levels)."""
    x = frames.float()
    return bool((x.amax(1) - x.amin(1)).mean() > tol)


def colorize_stream(frames: Iterable[Frame], temporal: TemporalColorizer, batch_size: int = 8,
                    with_gray: bool = False,
                    ) -> Iterator[tuple[list[Frame], torch.Tensor, torch.Tensor | None]]:
    """RGB frames -> per batch (frames, colorized uint8 (B, 3, H, W), gray (B, 3, H, W) or None)."""
    c = temporal.c
    for batch in batched(frames, batch_size):
        prep = c.prepare(to_tensor(batch), carry=temporal.carrying)
        ab = temporal(prep)  # (B, 2, h, w)
        gray = c.finish(prep.L_full, torch.zeros_like(ab)) if with_gray else None
        yield batch, c.finish(prep.L_full, ab), gray


def colorize_planes(frames: Iterable[Frame], temporal: TemporalColorizer, tags: ColourTags,
                    batch_size: int = 8, keyframe_interval: int = 1, blend: bool = True,
                    ) -> Iterator[tuple[list[Frame], np.ndarray]]:
    """Plane frames -> (frames, new Cb, Cr planes uint8 (n, 2, H/2, W/2)), in order; the
    generator sees every ``keyframe_interval``-th frame of a shot (:mod:`.keyframes`)."""
    windows = batched(frames, max(batch_size, keyframe_interval))
    return keyframe_planes(windows, temporal, tags, keyframe_interval, blend)


@dataclass
class VideoResult:
    frames: int = 0
    seconds: float = 0.0
    cuts: list[int] = field(default_factory=list)
    recombine: str = "yuv"
    references: int = 0  # reference frames that steered their shots

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def colorize_video(src: str | Path, dst: str | Path, colorizer: Colorizer,
                   temporal: str = "independent", strength: float = 0.6,
                   scene_threshold: float = DEFAULT_THRESHOLD, batch_size: int = 8, codec: str | None = None,
                   crf: int = 18, compare: bool = False, overwrite: bool = False,
                   max_frames: int | None = None, progress: bool = True,
                   on_batch: Callable[[int], None] | None = None, recombine: str = "yuv",
                   preset: str | None = None, frame_step: int | None = None,
                   keyframe_interval: int | str = "auto", keyframe_blend: bool = True,
                   model_threads: int | str = "auto",
                   scene_detector: str = "colorgan",
                   reference_frames: str | Path | None = None,
                   reference: torch.Tensor | None = None, carry_tau: float = TAU,
                   carry_fill: bool = False, carry_flow: str = "medium") -> VideoResult:
    """Colorize ``src`` into ``dst`` (same frame count, timestamps, size; audio copied).

    ``compare=True`` writes gray | colorized | original (when the input has colour) side by side
    (always through ``lab``). ``on_batch(frames_done)`` is called after each batch.
    ``keyframe_interval`` (``yuv`` only): the generator colours every k-th frame of a shot,
    ``"auto"`` picks k for the device (:func:`.keyframes.auto_interval`). ``model_threads``
    (CPU): torch's intra-op threads while the film runs (auto: a quarter of the cores, at least
    1; the decoder and the encoder need the rest). ``scene_detector``: ``colorgan`` finds cuts
    as the frames stream by; a PySceneDetect detector (:data:`colorgan.scenes.DETECTORS`) runs
    first, in one extra decoding pass, and its cuts are used.

    ``reference_frames``: a folder of coloured frames (:mod:`.reference_frames`), each carried
    through its shot (:mod:`.shot_references`); the cuts are then found first, in one extra
    decoding pass, and every reference is checked before anything is written. ``reference``:
    a reference photo's palette (1, D) steering the automatic frames of a hint checkpoint.
    ``carry_tau``, ``carry_fill``, ``carry_flow``: :class:`.temporal.TemporalColorizer`.
    """
    if recombine not in RECOMBINE_MODES:
        raise ValueError(f"--recombine {recombine!r}: choose one of {list(RECOMBINE_MODES)}.")
    info = probe(src)
    if compare or info.width % 2 or info.height % 2:  # panels are RGB; 4:2:0 needs even sizes
        recombine = "lab"
    interval = auto_interval(keyframe_interval, colorizer.device, temporal)
    known, refs = None, None
    if reference_frames is not None:  # read and checked before anything is written
        from colorgan.colorize.reference_frames import check_indices, load_reference_frames
        refs = load_reference_frames(reference_frames, info.width, info.height, None, info.rate)
    if scene_detector != "colorgan" or refs:  # a first pass finds the cuts (and counts)
        cuts, frames = scan_cuts(src, scene_threshold if scene_detector == "colorgan" else None,
                                 max_frames=max_frames, detector=scene_detector)
        known = [i for i, _ in cuts]
        if refs:
            check_indices(refs, reference_frames, frames)
    tc = TemporalColorizer(colorizer, temporal, strength, scene_threshold, rate=info.rate,
                           frame_step=frame_step, known_cuts=known, references=refs,
                           palette=reference, carry_tau=carry_tau, carry_fill=carry_fill,
                           carry_flow=carry_flow)
    result, t0 = VideoResult(recombine=recombine, references=len(refs or {})), time.perf_counter()
    with _named_write_errors(dst), atomic_output(dst, overwrite) as tmp, \
            cpu_threads(model_threads, colorizer.device):
        bar = tqdm(total=(max_frames or info.frames) or None, unit="frame", disable=not progress,
                   desc=Path(src).name, dynamic_ncols=True)
        writer, ok = None, False
        try:
            with Pipeline() as pipe:
                frames = pipe.source(read_frames(src, max_frames, planes=recombine == "yuv"),
                                     QUEUE_DEPTH)
                open_writer = lambda width: VideoWriter(  # noqa: E731
                    tmp, info, width, info.height, codec, crf, trim_copies=bool(max_frames),
                    preset=preset)
                if recombine == "yuv":
                    writer = open_writer(info.width)
                    sink = pipe.sink(writer.write_yuv, QUEUE_DEPTH)
                    for batch, uv in colorize_planes(frames, tc, info.tags, batch_size,
                                                     interval, keyframe_blend):
                        for f, (u, v) in zip(batch, uv):
                            sink.put(f.yuv[0], u, v, f.pts, f.duration)  # Y' as decoded
                        _done(result, bar, on_batch, len(batch))
                else:
                    panels = None
                    for batch, fake, gray in colorize_stream(frames, tc, batch_size, compare):
                        if panels is None:  # decided on the first batch: is there an original?
                            panels = (3 if is_colour(to_tensor(batch)) else 2) if compare else 1
                            writer = open_writer(info.width * panels)
                            sink = pipe.sink(writer.write, QUEUE_DEPTH)
                        out = fake if panels == 1 else torch.cat(
                            [gray, fake, to_tensor(batch)][:panels], dim=-1)  # (B, 3, H, W*p)
                        for f, img in zip(batch, out.permute(0, 2, 3, 1).numpy()):
                            sink.put(img, f.pts, f.duration)
                        _done(result, bar, on_batch, len(batch))
                if writer is not None:
                    sink.close()
            ok = True
        finally:
            bar.close()
            if writer is not None:
                writer.close(ok=ok)
    result.seconds, result.cuts = time.perf_counter() - t0, tc.cuts
    return result


WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)  # only writes fail so


@contextlib.contextmanager
def _named_write_errors(dst: str | Path) -> Iterator[None]:
    """A failed write of the film (full disk, quota, read-only disk) names the user's ``-o``
    target, never the hidden temporary file, and says what to do; an earlier file at the target
    is kept (the film goes to a temporary name until it is whole)."""
    dst = Path(dst)
    existed = dst.is_file()
    try:
        yield
    except OSError as e:
        if e.errno not in WRITE_ERRNOS and temp_path_for(dst).name not in str(e):
            raise
        kept = f"the earlier {dst.name} there is kept" if existed else "no file was left there"
        # utils.atomic's own error (already naming the target) keeps the OS reason in errno
        what = e.strerror or (os.strerror(e.errno) if e.errno else str(e).split(":")[0])
        hint = ("free some space on that disk or pass -o on another disk"
                if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
                else "pass -o with a writable folder")
        raise VideoError(f"-o {dst}: the film could not be written ({what}); {kept}. "
                         f"{hint[0].upper()}{hint[1:]}, then run again.") from None


@contextlib.contextmanager
def cpu_threads(n: int | str, device: torch.device) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` ("auto": a quarter of the cores) on a CPU, then
    restored. Measured on 2 shared cores: 2 OpenMP threads next to x264 stall each other."""
    if device.type != "cpu":
        yield
        return
    try:
        k = max(1, (os.cpu_count() or 1) // 4) if n == "auto" else int(n)
    except (TypeError, ValueError):
        k = 0
    if k < 1:
        raise ValueError(f"--model-threads {n!r}: an integer >= 1 or auto.")
    old = torch.get_num_threads()
    torch.set_num_threads(k)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _done(result: VideoResult, bar: tqdm, on_batch: Callable[[int], None] | None, n: int) -> None:
    result.frames += n
    bar.update(n)
    if on_batch is not None:
        on_batch(result.frames)


__all__ = [
    "QUEUE_DEPTH",
    "RECOMBINE_MODES",
    "VideoResult",
    "batched",
    "colorize_planes",
    "colorize_stream",
    "colorize_video",
    "is_colour",
    "to_tensor",
]
