"""Film colorization pipeline: decode -> batches -> model -> encode, overlapped.

A decoder thread and an encoder thread talk to the model loop through bounded queues, so the
model does not wait for I/O and I/O does not wait for the model; no frame touches the disk.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.utils.atomic import atomic_output
from colorgan.video.io import Frame, VideoWriter, probe, read_frames

_END = object()


class Prefetch:
    """Iterate ``source`` in a background thread, ``depth`` items ahead; errors re-raised here."""

    def __init__(self, source: Iterable, depth: int = 16) -> None:
        self.q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(iter(source),), daemon=True)
        self.thread.start()

    def _run(self, it: Iterator) -> None:
        try:
            for item in it:
                while not self.stop.is_set():
                    try:
                        self.q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
            self.q.put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self.q.put(e)

    def __iter__(self) -> Iterator:
        try:
            while (item := self.q.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop.set()


class BackgroundWriter:
    """Encode frames in a thread; ``put`` blocks only when ``depth`` frames are waiting."""

    def __init__(self, writer: VideoWriter, depth: int = 16) -> None:
        self.writer, self.error, self.abort = writer, None, False
        self.q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.q.get()) is not _END:
            if self.error is None and not self.abort:  # after an abort: drain, do not encode
                try:
                    self.writer.write(*item)
                except BaseException as e:  # noqa: BLE001 - re-raised in put/close
                    self.error = e

    def put(self, rgb: np.ndarray, pts: int | None, duration: int | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.q.put((rgb, pts, duration))

    def close(self, ok: bool = True) -> None:
        self.abort = not ok
        self.q.put(_END)
        self.thread.join()
        self.writer.close(ok=ok and self.error is None)
        if ok and self.error is not None:
            raise self.error


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
    """Frames -> per batch (frames, colorized uint8 (B, 3, H, W), gray uint8 (B, 3, H, W) or None)."""
    c = temporal.c
    for batch in batched(frames, batch_size):
        prep = c.prepare(to_tensor(batch))
        ab = temporal(prep)  # (B, 2, s, s)
        gray = c.finish(prep.L_full, torch.zeros_like(ab)) if with_gray else None
        yield batch, c.finish(prep.L_full, ab), gray


@dataclass
class VideoResult:
    frames: int = 0
    seconds: float = 0.0
    cuts: list[int] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def colorize_video(src: str | Path, dst: str | Path, colorizer: Colorizer,
                   temporal: str = "independent", strength: float = 0.6,
                   scene_threshold: float = 0.35, batch_size: int = 8, codec: str | None = None,
                   crf: int = 18, compare: bool = False, overwrite: bool = False,
                   max_frames: int | None = None, progress: bool = True,
                   on_batch: Callable[[int], None] | None = None) -> VideoResult:
    """Colorize ``src`` into ``dst`` (same frame count, timestamps, size; audio copied).

    ``compare=True`` writes gray | colorized | original (when the input has colour) side by side.
    ``on_batch(frames_done)`` is called after each batch (progress hooks, tests).
    """
    info = probe(src)
    tc = TemporalColorizer(colorizer, temporal, strength, scene_threshold)
    result, t0 = VideoResult(), time.perf_counter()
    panels = None
    with atomic_output(dst, overwrite) as tmp:
        bar = tqdm(total=(max_frames or info.frames) or None, unit="frame", disable=not progress,
                   desc=Path(src).name, dynamic_ncols=True)
        bw, ok = None, False
        try:
            frames = Prefetch(read_frames(src, max_frames))
            for batch, fake, gray in colorize_stream(frames, tc, batch_size, with_gray=compare):
                if panels is None:  # decided on the first batch: is there an original to show?
                    panels = (3 if is_colour(to_tensor(batch)) else 2) if compare else 1
                    bw = BackgroundWriter(VideoWriter(tmp, info, info.width * panels, info.height,
                                                      codec, crf, trim_copies=bool(max_frames)))
                out = fake if panels == 1 else torch.cat(
                    [gray, fake, to_tensor(batch)][:panels], dim=-1)  # (B, 3, H, W * panels)
                for f, img in zip(batch, out.permute(0, 2, 3, 1).numpy()):
                    bw.put(img, f.pts, f.duration)
                result.frames += len(batch)
                bar.update(len(batch))
                if on_batch is not None:
                    on_batch(result.frames)
            ok = True
        finally:
            bar.close()
            if bw is not None:
                bw.close(ok=ok)
    result.seconds, result.cuts = time.perf_counter() - t0, tc.cuts
    return result


__all__ = [
    "BackgroundWriter",
    "Prefetch",
    "VideoResult",
    "batched",
    "colorize_stream",
    "colorize_video",
    "is_colour",
    "to_tensor",
]
