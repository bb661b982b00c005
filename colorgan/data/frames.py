"""Frame extraction with PyAV, cached once per (video, rate, size): ``frames.npy`` (uint8 (N, S,
S, 3), memory-mapped) and ``manifest.json``, written last and atomically (an entry without one is
decoded again).
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from colorgan.color import rgb_to_gray, uint8_to_float
from colorgan.data.images import BadInputWarning, hwc_to_chw
from colorgan.scenes import DEFAULT_THRESHOLD, scene_ids
from colorgan.utils.atomic import atomic_output, write_text_atomic
from colorgan.video.io import DECODE_THREADS, VideoError, film_stream

CACHE_VERSION = 1


def _decode(container: av.container.InputContainer, stream) -> Iterator[av.VideoFrame]:
    """Decoded frames of ``stream`` (a seam for tests that simulate a failing video)."""
    yield from container.decode(stream)


def _square(frame: av.VideoFrame, size: int) -> np.ndarray:
    """Shorter side to ``size`` (swscale), centre crop -> uint8 (size, size, 3)."""
    scale = size / min(frame.width, frame.height)
    w, h = max(size, round(frame.width * scale)), max(size, round(frame.height * scale))
    rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()  # (h, w, 3)
    top, left = (h - size) // 2, (w - size) // 2
    return rgb[top:top + size, left:left + size]


def decode_frames(path: Path, fps: float | None, size: int) -> tuple[np.ndarray, list[float],
                                                                      str | None]:
    """Sample ``fps`` frames per second (all frames when None/0) -> (frames, times, error)."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise ValueError(f"Cannot read video {path}: {e}. Check the file, or remove it from "
                         "data.root.") from None
    frames: list[np.ndarray] = []
    times: list[float] = []
    error = None
    with container:
        try:
            stream = film_stream(container)
        except VideoError as e:
            raise ValueError(f"{path} {e} Remove it from data.root.") from None
        stream.thread_type = DECODE_THREADS
        rate = float(stream.average_rate or 25)
        step = 1.0 / fps if fps else 0.0
        next_t = 0.0
        bar = tqdm(total=stream.frames or None, desc=f"decoding {path.name}", unit="frame",
                   leave=False)
        try:
            for i, frame in enumerate(_decode(container, stream)):
                bar.update(1)
                t = float(frame.time) if frame.time is not None else i / rate
                if step and t + 1e-6 < next_t:
                    continue
                frames.append(_square(frame, size))
                times.append(t)
                while step and next_t <= t + 1e-6:
                    next_t += step
        except (av.error.FFmpegError, OSError, ValueError) as e:
            error = f"{type(e).__name__}: {e}"
        finally:
            bar.close()
    arr = np.stack(frames) if frames else np.zeros((0, size, size, 3), np.uint8)
    return arr, times, error


def compute_scene_ids(frames: np.ndarray, threshold: float) -> list[int]:
    """Per-frame scene index from luminance-histogram cuts (:mod:`colorgan.scenes`)."""
    def lumas():
        for f in frames:
            rgb = uint8_to_float(hwc_to_chw(f))  # (3, H, W)
            yield rgb_to_gray(rgb[None])[0, 0]  # (H, W)
    return list(scene_ids(lumas(), threshold=threshold))


def entry_dir(cache_dir: Path, video: Path, fps: float | None, size: int) -> Path:
    st = video.stat()
    key = json.dumps([CACHE_VERSION, str(video.resolve()), st.st_size, st.st_mtime_ns,
                      fps, size])
    return Path(cache_dir) / f"{video.stem}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def cached_frames(video: Path, fps: float | None, size: int, cache_dir: Path,
                  threshold: float = DEFAULT_THRESHOLD) -> tuple[Path, dict]:
    """Decode ``video`` once into the cache (or reuse it) -> (frames.npy path, manifest)."""
    entry = entry_dir(cache_dir, video, fps, size)
    manifest_file, frames_file = entry / "manifest.json", entry / "frames.npy"
    if manifest_file.is_file() and frames_file.is_file():
        manifest = json.loads(manifest_file.read_text())
        if manifest.get("scene_threshold") != threshold:  # re-cut from the cache, no decode
            frames = np.load(frames_file, mmap_mode="r")
            manifest.update(scene_threshold=threshold,
                            scenes=compute_scene_ids(frames, threshold))
            write_text_atomic(manifest_file, json.dumps(manifest, indent=1))
        if not manifest.get("complete", True):
            warnings.warn(f"Video {video} is cached only up to frame {manifest['num_frames']} "
                          f"(decoding failed: {manifest.get('error')}).", BadInputWarning,
                          stacklevel=2)
        return frames_file, manifest
    frames, times, error = decode_frames(video, fps, size)
    if error is not None:
        warnings.warn(f"Video {video} failed after {len(frames)} sampled frame(s) ({error}); "
                      "keeping the frames decoded so far.", BadInputWarning, stacklevel=2)
    if len(frames) == 0:
        raise ValueError(f"Video {video} gave no frame{f' ({error})' if error else ''}; check "
                         "the file or remove it from data.root.")
    entry.mkdir(parents=True, exist_ok=True)
    with atomic_output(frames_file) as tmp, tmp.open("wb") as f:
        np.save(f, frames)
    manifest = {"source": str(video.resolve()), "fps": fps, "image_size": size,
                "num_frames": len(frames), "times": times, "complete": error is None,
                "error": error, "scene_threshold": threshold,
                "scenes": compute_scene_ids(frames, threshold)}
    write_text_atomic(manifest_file, json.dumps(manifest, indent=1))
    return frames_file, manifest


__all__ = ["cached_frames", "compute_scene_ids", "decode_frames", "entry_dir"]
