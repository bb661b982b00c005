"""Damage the demuxer itself reports while a film is read: FFmpeg's own error lines (``File
ended prematurely``: a WebM/MKV cut with no duration in its header), an MPEG-TS cut
mid-packet, and frame sizes that change mid-stream. Used by :func:`colorgan.video.io.read_frames`.

PyAV ignores FFmpeg's log by default; while any reader runs, ERROR lines are passed to PyAV's
log capture (the previous level and repeat filter come back with the last reader).
"""
from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import av.logging

logging.getLogger("libav").addHandler(logging.NullHandler())  # FFmpeg's own lines: not on stderr
_LOG_LOCK, _DEMUX_LOCK = threading.Lock(), threading.Lock()
_log_users: list[object] = []  # readers listening to FFmpeg's errors; the level they replaced
_TRUNCATED = ("ended prematurely", "partial file", "truncat", "premature")
TS_PACKETS = (188, 192, 204)  # MPEG-TS packet sizes: plain, M2TS (Blu-ray), with Reed-Solomon


def listen_to_ffmpeg(on: bool) -> None:
    """FFmpeg's ERROR messages reach PyAV's log capture while any reader runs (PyAV ignores
    them by default); the previous level and repeat filter come back with the last reader."""
    with _LOG_LOCK:
        if on:
            if not _log_users:
                _log_users.append((av.logging.get_level(), av.logging.get_skip_repeated()))
                level = av.logging.get_level()
                av.logging.set_level(av.logging.ERROR if level is None else
                                     max(level, av.logging.ERROR))
                av.logging.set_skip_repeated(False)  # a second damaged file says so too
            else:
                _log_users.append(None)
        elif _log_users:
            saved = _log_users.pop()
            if not _log_users and saved is not None:
                av.logging.set_level(saved[0])
                av.logging.set_skip_repeated(saved[1])


def demux_logged(container: av.container.InputContainer, stream: av.stream.Stream,
                  said: list[tuple[int, str]], frames: list[int]) -> Iterator[av.Packet]:
    """``container.demux(stream)``, appending (frames decoded so far, message) to ``said`` for
    every ERROR the demuxer logs (``File ended prematurely``: the file was cut)."""
    packets, name = container.demux(stream), container.format.name
    while True:
        # PyAV's per-thread capture misses the demuxer's lines (seen with PyAV 18): capture
        # all threads, one reader at a time, so that each reader gets its own file's lines
        with _DEMUX_LOCK, av.logging.Capture(local=False) as logs:
            packet = next(packets, None)
        said.extend((frames[0], m.strip()) for level, who, m in logs
                    if who == name and level <= av.logging.ERROR)
        if packet is None:
            return
        yield packet


def size_changed(path: Path, n: int, old: tuple[int, int], new: tuple[int, int]) -> None:
    warnings.warn(f"{path}: the frame size changes at frame {n}, from {old[0]}x{old[1]} to "
                  f"{new[0]}x{new[1]}; frames of another size are scaled to {old[0]}x{old[1]} "
                  "(the first size), timestamps and audio unchanged.", stacklevel=3)


def open_logged(path: Path, opener: Callable[[Path], av.container.InputContainer],
                said: list[tuple[int, str]]) -> av.container.InputContainer:
    """``opener(path)`` while listening to FFmpeg (reading the header may already meet the
    cut: WebM without cues or duration); the demuxer's errors go to ``said`` as frame 0.
    The caller ends the listening with ``listen_to_ffmpeg(False)`` once the file is read."""
    listen_to_ffmpeg(True)
    try:
        with _DEMUX_LOCK, av.logging.Capture(local=False) as logs:
            container = opener(path)
    except BaseException:
        listen_to_ffmpeg(False)
        raise
    said.extend((0, m.strip()) for level, who, m in logs
                if who == container.format.name and level <= av.logging.ERROR)
    return container


def warn_if_damaged(path: Path, container: av.container.InputContainer,
                    said: list[tuple[int, str]], n: int, t: float) -> None:
    """After the last of ``n`` frames (ending at ``t`` s): warn when the demuxer met the end of
    the file inside a packet, or logged another error."""
    cut = [f'FFmpeg: "{m}"' for _, m in said if any(w in m.lower() for w in _TRUNCATED)]
    nbytes = path.stat().st_size
    if container.format.name == "mpegts" and all(nbytes % k for k in TS_PACKETS):
        cut.append(f"its {nbytes} bytes are not a whole number of 188-byte MPEG-TS packets")
    if cut:
        warnings.warn(f"{path}: the file is truncated ({cut[0]}); decoding stopped at frame "
                      f"{n} (t={t:.3f}s). The {n} frames decoded are used.", stacklevel=3)
    elif said:
        k, m = said[0]
        warnings.warn(f"{path}: the file is damaged near frame {k} (FFmpeg: \"{m}\"); {n} "
                      "frames were decoded, some may be missing or broken there.", stacklevel=3)


__all__ = ["TS_PACKETS", "demux_logged", "listen_to_ffmpeg", "open_logged", "size_changed",
           "warn_if_damaged"]
