"""Streaming video I/O with PyAV: decode frames with their timestamps, encode them back with
the same timestamps, and copy audio/subtitle packets without re-encoding.

No frame is ever written to disk: frames go decoder -> numpy -> model -> numpy -> encoder.
"""
from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from colorgan.video.damage import (
    demux_logged,
    listen_to_ffmpeg,
    open_logged,
    size_changed,
    warn_if_damaged,
)

log = logging.getLogger("colorgan")
ENCODERS = ("libx264", "libx265", "libvpx-vp9", "h264_nvenc", "hevc_nvenc")
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
# FFmpeg's AVColorSpace codes -> colorgan.color.YUV_MATRICES names, and back for tagging
_MATRIX_OF = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}
_TAG_OF = {"bt709": (1, 1, 1), "bt601": (6, 6, 6), "bt2020": (9, 9, 14)}  # space, primaries, trc


# FFmpeg's slice threads, not its frame threads: a decoder with frame threads, closed before
# the end of the film (--max-frames, an error downstream) while PyAV's log callback listens
# (colorgan.video.damage), can deadlock in FFmpeg (PyAV issues 909, 1849); slices cost ~25 %
# of decoding speed on 2 cores, which is far from what limits a film's colorization.
DECODE_THREADS = "SLICE"


class VideoError(ValueError):
    """An unreadable or unusable video: the message names the file."""


@dataclass(frozen=True)
class ColourTags:
    """How a stream's Y'CbCr maps to RGB: matrix (``bt601``/``bt709``/``bt2020``) and range.

    Untagged streams get the common player default: BT.709 from 720 lines up, BT.601 below,
    limited range (16..235) unless the pixel format is a full-range ``yuvj*`` one.
    """

    matrix: str = "bt709"
    full_range: bool = False
    tagged: bool = False

    @classmethod
    def of(cls, colorspace: int, color_range: int, height: int, pix_fmt: str = "") -> ColourTags:
        matrix = _MATRIX_OF.get(int(colorspace or 2))
        full = int(color_range or 0) == 2 or pix_fmt.startswith("yuvj")
        return cls(matrix or ("bt709" if height >= 720 else "bt601"), full,
                   matrix is not None or int(color_range or 0) in (1, 2))

    @property
    def av_colorspace(self) -> str:  # for VideoReformatter (swscale)
        return {"bt709": "itu709", "bt601": "itu601", "bt2020": "bt2020"}[self.matrix]

    @property
    def av_range(self) -> str:
        return "JPEG" if self.full_range else "MPEG"


@dataclass
class Frame:
    index: int
    pts: int | None          # in ``time_base`` units
    time_base: Fraction
    rgb: np.ndarray | None   # (H, W, 3) uint8; None when decoded as planes
    duration: int | None = None
    yuv: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # Y (H, W), U, V (H/2, W/2)

    @property
    def time(self) -> float:
        return float((self.pts or 0) * self.time_base)


@dataclass
class VideoInfo:
    path: Path
    width: int
    height: int
    frames: int              # from the header; 0 when unknown
    rate: Fraction | None
    time_base: Fraction
    rotation: int = 0        # display-matrix rotation (degrees, counter-clockwise)
    tags: ColourTags = ColourTags()
    pix_fmt: str = "yuv420p"


def open_video(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such video file.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: cannot be read as a video ({e}). Is it a complete, "
                         "uncorrupted video file?") from None
    try:
        film_stream(container)
    except VideoError as e:
        container.close()
        raise VideoError(f"{path}: {e}") from None
    return container


def is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    """A still picture attached to audio (an MP3's or M4A's album cover), not a film."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def film_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The film's video stream: the first one that is not cover art (in some files the cover
    comes first)."""
    videos = [s for s in container.streams.video if not is_cover_art(s)]
    if not videos:
        art = " (its only picture is cover art: is it audio only?)" if container.streams.video \
            else ""
        raise VideoError(f"has no video stream{art}.")
    return videos[0]


def probe(path: str | Path) -> VideoInfo:
    with open_video(path) as c:
        s = film_stream(c)
        cc = s.codec_context
        return VideoInfo(Path(path), cc.width, cc.height, int(s.frames or 0),
                         s.average_rate or s.guessed_rate, s.time_base or Fraction(1, 1000),
                         _rotation(c),
                         ColourTags.of(cc.colorspace, cc.color_range, cc.height, cc.pix_fmt or ""),
                         cc.pix_fmt or "yuv420p")


def _rotation(container: av.container.InputContainer) -> int:
    """The display-matrix rotation of the first frame (phones film portrait as landscape + it)."""
    try:
        frame = next(container.decode(film_stream(container)))
        return int(round(frame.rotation or 0)) % 360
    except (StopIteration, av.error.FFmpegError, AttributeError):
        return 0


def _stream_seconds(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    """The video stream's duration from the header (Matroska's per-track DURATION tag, the
    stream's duration, else the container's); 0.0 when unknown."""
    tag = (stream.metadata or {}).get("DURATION")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def check_output_container(path: str | Path) -> None:
    """Refuse outputs whose container cannot store colorgan's frame timestamps (AVI)."""
    if Path(path).suffix.lower() == ".avi":
        raise VideoError(f"-o {path}: AVI cannot store per-frame timestamps (its header would "
                         "give a wrong frame rate and count); write .mkv or .mp4 instead.")


def check_codec(codec: str | None) -> None:
    """``--codec`` must name a video encoder that this FFmpeg build has."""
    if codec is None:
        return
    try:
        c = av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError, KeyError):
        raise VideoError(f"--codec {codec}: no such encoder in this FFmpeg build; use libx264, "
                         "libx265, libvpx-vp9, mpeg4 or leave --codec out.") from None
    if c.type != "video":
        raise VideoError(f"--codec {codec}: is a {c.type} encoder; give a video encoder such as "
                         "libx264 (audio is copied from the input as it is).")


def yuv420_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y (H, W), U, V (H/2, W/2) uint8 of a decoded frame; yuv420p/yuvj420p planes as they are
    (luma bit-exact), any other format converted to 8-bit 4:2:0 first."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = VideoReformatter().reformat(frame, format="yuv420p")
    return tuple(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
                 for p in frame.planes)  # type: ignore[return-value]


def to_rgb(frame: av.VideoFrame, tags: ColourTags) -> np.ndarray:
    """(H, W, 3) uint8 RGB, converted with the stream's colour matrix and range."""
    return VideoReformatter().reformat(frame, format="rgb24", src_colorspace=tags.av_colorspace,
                                       src_color_range=tags.av_range).to_ndarray()


def read_frames(path: str | Path, max_frames: int | None = None,
                planes: bool = False) -> Iterator[Frame]:
    """Decoded frames in presentation order, as RGB or (``planes``) as Y, U, V planes.
    Frames without a timestamp get one from the stream's frame rate. A video broken mid-way
    ends early with a warning that says where it stopped; the frames before it are kept."""
    path = Path(path)
    said: list[tuple[int, str]] = []  # (frame, message) the demuxer logged as errors
    container = open_logged(path, open_video, said)  # listening to FFmpeg until closed
    stream = film_stream(container)
    cc = stream.codec_context
    tags = ColourTags.of(cc.colorspace, cc.color_range, cc.height, cc.pix_fmt or "")
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    stream.thread_type = DECODE_THREADS
    expected, n, last_t = int(stream.frames or 0), 0, 0.0
    resized: tuple[int, int] | None = None  # the first other frame size met
    # AVI stores no presentation times (FFmpeg's guesses are not monotonic): number the frames
    sequential = container.format.name == "avi"
    step = 1.0 / float(stream.average_rate or stream.guessed_rate or 25)
    count = [0]  # frames yielded, for the demuxer's messages
    size = (cc.width, cc.height) if cc.width and cc.height else None
    def decoded() -> Iterator[av.VideoFrame]:
        """Packet by packet, so that a broken packet still lets the frames before it out."""
        error = None
        try:
            for packet in demux_logged(container, stream, said, count):
                yield from packet.decode()  # the final empty packet flushes the decoder
        except av.error.FFmpegError as e:
            error = e
        if error is not None:
            try:  # frames already inside the decoder (frame threads, B-frame delay)
                yield from stream.codec_context.decode(None)
            except av.error.FFmpegError:
                pass
            raise error

    try:
        try:
            for frame in decoded():
                if size is None:
                    size = (frame.width, frame.height)
                elif (frame.width, frame.height) != size:  # a stream whose size changes
                    if resized is None:
                        resized = (frame.width, frame.height)
                        size_changed(path, n, size, resized)
                    frame = VideoReformatter().reformat(frame, width=size[0], height=size[1])
                tb = Fraction(frame.time_base or stream.time_base or Fraction(1, 1000))
                if sequential:  # AVI: frames numbered at the stream's rate
                    pts, tb = n, Fraction(stream.time_base or Fraction(1, 25))
                else:  # no timestamp: one from the frame rate, not one tick of the time base
                    pts = frame.pts if frame.pts is not None else round(n / (rate * tb))
                yield Frame(n, pts, tb, None if planes else to_rgb(frame, tags),
                            None if sequential else frame.duration or None,
                            yuv420_planes(frame) if planes else None)
                last_t = float(pts * tb)
                n += 1
                count[0] = n
                if max_frames is not None and n >= max_frames:
                    return
        except av.error.FFmpegError as e:
            if n == 0:
                raise VideoError(f"{path}: no frame could be decoded ({e}).") from None
            warnings.warn(f"{path}: decoding stopped at frame {n} (t={last_t:.3f}s): {e}. "
                          f"The {n} frames before it are used.", stacklevel=2)
            return
        if n == 0:
            raise VideoError(f"{path}: the video stream holds no decodable frame.")
        if expected and n < expected - 1:  # headers may count one frame more than decodable
            warnings.warn(f"{path}: the file is truncated; decoding stopped at frame {n} of "
                          f"{expected} (t={last_t:.3f}s). The {n} frames decoded are used.",
                          stacklevel=2)
            return
        total = 0.0 if expected else _stream_seconds(container, stream)
        if total and last_t + step < total - max(3 * step, 0.02 * total):
            warnings.warn(f"{path}: the file is truncated; decoding stopped at "
                          f"t={last_t + step:.3f}s of {total:.3f}s (frame {n}). The {n} "
                          "frames decoded are used.", stacklevel=2)
            return
        warn_if_damaged(path, container, said, n, last_t + step)
    finally:
        listen_to_ffmpeg(False)
        container.close()


def _can_copy(fmt: str, template: av.stream.Stream) -> bool:
    """Whether the output format accepts this stream as-is (tried on an in-memory muxer)."""
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as probe_out:
            probe_out.add_stream_from_template(template)
            probe_out.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError):
        return False


def encoder_options(codec: str, crf: int = 18, preset: str | None = None) -> dict[str, str]:
    """FFmpeg options for ``--codec``/``--crf``/``--preset``; a clear error when unusable here."""
    if codec not in av.codecs_available:
        raise VideoError(f"--codec {codec}: this PyAV/FFmpeg build has no such encoder; "
                         f"use one of {[c for c in ENCODERS if c in av.codecs_available]}.")
    if codec.endswith("_nvenc"):
        import torch  # NVENC needs an NVIDIA GPU and driver; FFmpeg's own error is cryptic

        if not torch.cuda.is_available():
            raise VideoError(f"--codec {codec}: needs an NVIDIA GPU with NVENC and none is "
                             "visible here; use --codec libx264 (or libx265).")
        return {"rc": "vbr", "cq": str(int(crf)), "preset": preset or "p4"}
    if not 0 <= int(crf) <= 63:
        raise VideoError(f"--crf {crf}: must be in 0..51 (x264/x265) or 0..63 (vp9).")
    if codec in ("libx264", "libx265"):
        if preset is not None and preset not in X26X_PRESETS:
            raise VideoError(f"--preset {preset}: {codec} knows {', '.join(X26X_PRESETS)}.")
        return {"crf": str(int(crf)), **({"preset": preset} if preset else {})}
    if codec == "libvpx-vp9":  # --preset = libvpx deadline: realtime, good, best
        if preset is not None and preset not in ("realtime", "good", "best"):
            raise VideoError(f"--preset {preset}: libvpx-vp9 knows realtime, good, best.")
        return {"crf": str(int(crf)), "b": "0", **({"deadline": preset} if preset else {})}
    return {}


class VideoWriter:
    """Encode frames (RGB, or Y/U/V planes) at given timestamps into ``path``; copy
    audio/subtitles from ``source``.

    The video stream keeps the source's time base and frame rate, so every frame's
    presentation time (and thus a variable frame rate) is kept. The output is tagged with the
    colour matrix and range it was encoded with (``tags``, the source's by default).
    """

    def __init__(self, path: Path, source: VideoInfo, width: int, height: int,
                 codec: str | None = None, crf: int = 18, pix_fmt: str = "yuv420p",
                 copy_streams: bool = True, trim_copies: bool = False,
                 preset: str | None = None, tags: ColourTags | None = None) -> None:
        self.path = Path(path)
        check_output_container(self.path)
        check_codec(codec)
        self.trim_copies, self._end_t = trim_copies, 0.0  # trim: copy no audio past the video
        codec = codec or ("libvpx-vp9" if self.path.suffix.lower() == ".webm" else "libx264")
        options = encoder_options(codec, crf, preset)
        self.out = av.open(str(path), "w")
        fmt = self.out.format.name.split(",")[0]
        if pix_fmt == "yuv420p" and (width % 2 or height % 2):
            pix_fmt = "yuv444p"  # 4:2:0 needs even sizes; keep the exact resolution instead
        try:
            self.video = self.out.add_stream(codec, rate=source.rate or Fraction(25, 1))
        except (av.error.FFmpegError, ValueError) as e:
            self.out.close()
            raise VideoError(f"--codec {codec}: cannot encode into {path.suffix} ({e}).") from None
        self.video.width, self.video.height, self.video.pix_fmt = width, height, pix_fmt
        if source.rotation:  # keep the source's display rotation (frames stay as stored)
            self.video.set_display_rotation(source.rotation)
        self.tb = source.time_base  # the muxer may change the stream's; frames keep this one
        self.video.time_base = source.time_base
        self.video.codec_context.time_base = source.time_base
        self.video.options = options
        self.tags = tags or source.tags
        space, primaries, trc = _TAG_OF[self.tags.matrix]
        cc = self.video.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc = space, primaries, trc
        cc.color_range = 2 if self.tags.full_range else 1
        self._step = max(1, round(1 / ((source.rate or Fraction(25)) * self.tb)))  # ticks/frame
        self._next_pts = 0
        self._src, self._copy, self._pending = None, {}, None
        if copy_streams:
            self._open_copies(source.path, fmt)

    def _open_copies(self, source: Path, fmt: str) -> None:
        src = av.open(str(source))
        for s in [*src.streams.audio, *src.streams.subtitles]:
            if _can_copy(fmt, s):
                self._copy[s.index] = self.out.add_stream_from_template(s)
            else:
                warnings.warn(f"{source}: {s.type} stream #{s.index} ({s.codec_context.name}) "
                              f"cannot be stored in {self.path.suffix} without re-encoding; it is "
                              "left out. Use an .mkv output to keep it.", stacklevel=3)
        if self._copy:
            self._src = src
            self._packets = (p for p in src.demux([src.streams[i] for i in self._copy])
                             if p.dts is not None)
        else:
            src.close()

    def _mux_copies_until(self, t: float | None) -> None:
        """Copy source packets up to time ``t`` (all of them for None), keeping them interleaved."""
        if self._src is None:
            return
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            p = self._pending
            if t is not None and float(p.dts * p.time_base) > t:
                return
            p.stream = self._copy[p.stream.index]
            self.out.mux(p)
            self._pending = None

    def write(self, rgb: np.ndarray, pts: int | None, duration: int | None = None) -> None:
        """rgb (H, W, 3) uint8 at ``pts`` (source time base; None -> one frame after the last)."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = VideoReformatter().reformat(  # RGB -> Y'CbCr with the matrix the output is tagged
            frame, format=self.video.pix_fmt, dst_colorspace=self.tags.av_colorspace,
            dst_color_range=self.tags.av_range)
        self._encode(frame, pts, duration)

    def write_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, pts: int | None,
                  duration: int | None = None) -> None:
        """Y (H, W) and U, V (H/2, W/2) uint8 planes, encoded as they are (yuv420p)."""
        h, w = y.shape
        frame = av.VideoFrame.from_ndarray(
            np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w),
            format="yuv420p")
        self._encode(frame, pts, duration)

    def _encode(self, frame: av.VideoFrame, pts: int | None, duration: int | None) -> None:
        frame.colorspace = self.video.codec_context.colorspace
        frame.color_range = self.video.codec_context.color_range
        frame.pts = self._next_pts if pts is None else pts
        if duration:
            frame.duration = duration  # keeps the last frame's length, hence the stream's
        frame.time_base = self.tb
        self._next_pts = frame.pts + (duration or self._step)
        self._mux_copies_until(float(frame.pts * self.tb))
        self._end_t = float((frame.pts + (duration or 1)) * self.tb)
        self.out.mux(self.video.encode(frame))

    def close(self, ok: bool = True) -> None:
        try:
            if ok:
                self.out.mux(self.video.encode(None))  # flush the encoder
                self._mux_copies_until(self._end_t if self.trim_copies else None)
        finally:
            try:
                self.out.close()
            except (av.error.FFmpegError, OSError):
                if ok:  # after a failure the first error is the one to report (full disk...)
                    raise
            finally:
                if self._src is not None:
                    self._src.close()


__all__ = [
    "DECODE_THREADS",
    "ENCODERS",
    "ColourTags",
    "Frame",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "check_codec",
    "check_output_container",
    "encoder_options",
    "open_video",
    "probe",
    "read_frames",
    "to_rgb",
    "yuv420_planes",
]
