"""What an upload is: a photo or a film, decided by decoding it (never by its name), within limits.

Every refusal is an :class:`UploadError` whose message is shown on the page as it is, so it says
what was wrong with the file and what to do; its ``status`` is the HTTP code.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

NOT_PHOTOS = {"MPEG"}  # formats PIL recognises but only FFmpeg decodes (MPEG-1 films)


class UploadError(ValueError):
    """A refused upload: the message is for the person who sent it; ``status`` for HTTP."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one upload may be (``colorgan serve --max-upload-mb/--max-film-seconds/--max-pixels``)."""

    max_upload_mb: float = 50.0
    max_film_seconds: float = 60.0
    max_pixels: int = 40_000_000  # per photo or film frame (a 40 MP photo, 8K frames)

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass
class Upload:
    kind: str                  # "photo" or "film"
    path: Path                 # the saved upload, renamed to an extension of its decoded format
    width: int
    height: int
    seconds: float | None = None  # films: duration from the container (None when unknown)
    frames: int = 0               # films: frame count from the header (0 when unknown)
    rate: float | None = None     # films: frames per second


async def save_stream(chunks: AsyncIterator[bytes], target: Path, name: str, limits: Limits) -> int:
    """Write the request body to ``target``, refusing (and stopping) as soon as it is too large."""
    size = 0
    with open(target, "wb") as f:
        async for chunk in chunks:
            size += len(chunk)
            if size > limits.max_bytes:
                raise UploadError(f"{name}: larger than the {limits.max_upload_mb:g} MB upload limit. "
                                  "Upload a smaller file, or start the server with a larger "
                                  "--max-upload-mb.", 413)
            f.write(chunk)
    if size == 0:
        raise UploadError(f"{name}: the file is empty (0 bytes). Choose a photo or a film.")
    return size


def _too_many_pixels(name: str, w: int, h: int, limits: Limits) -> UploadError:
    return UploadError(f"{name}: {w}x{h} is {w * h / 1e6:.1f} megapixels, above the "
                       f"{limits.max_pixels / 1e6:g} MP limit (--max-pixels). Resize it first.", 413)


def _as_photo(path: Path, name: str, limits: Limits) -> Upload | None:
    """A fully decoded still image, or None when PIL does not recognise the data at all."""
    fmt = None
    try:
        with Image.open(path) as im:
            fmt, (w, h) = im.format, im.size
            if fmt in NOT_PHOTOS:
                return None
            if w * h > limits.max_pixels:
                raise _too_many_pixels(name, w, h, limits)
            im.load()  # decodes every byte: truncated or damaged files fail here
    except UploadError:
        raise
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError:
        raise UploadError(f"{name}: the image is too large to decode safely (--max-pixels).", 413) \
            from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise UploadError(f"{name}: a {fmt or 'damaged'} image that cannot be decoded ({e}); it is "
                          "probably truncated or damaged. Upload the complete file.", 422) from None
    exts = [ext for ext, f in Image.registered_extensions().items() if f == fmt]
    return Upload("photo", path.rename(path.with_suffix(exts[0] if exts else ".img")), w, h)


def _as_film(path: Path, name: str, limits: Limits) -> Upload | None:
    """A container with a decodable video stream, or None when FFmpeg cannot open it."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError:
        return None
    with container:
        if not container.streams.video:
            raise UploadError(f"{name}: has no video stream (is it audio only?). Upload a photo or "
                              "a film.", 415)
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > limits.max_pixels:
            raise _too_many_pixels(name, w, h, limits)
        if container.duration:
            seconds = container.duration / av.time_base
        elif stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = None
        if seconds is not None and seconds > limits.max_film_seconds:
            raise UploadError(f"{name}: the film is {seconds:.1f} s long; the limit is "
                              f"{limits.max_film_seconds:g} s (--max-film-seconds). Cut a shorter "
                              "clip, or use `colorgan colorize` for whole films.", 413)
        try:
            next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as e:
            raise UploadError(f"{name}: no frame of its video can be decoded ({e or 'no frames'}); "
                              "it is probably truncated or damaged.", 422) from None
        rate = stream.average_rate or stream.guessed_rate
        fmt = container.format.name.split(",")[0]
    ext = {"mov": ".mp4", "matroska": ".mkv"}.get(fmt, f".{fmt}")
    return Upload("film", path.rename(path.with_suffix(ext)), w, h, seconds,
                  int(stream.frames or 0), float(rate) if rate else None)


def identify(path: Path, name: str, limits: Limits) -> Upload:
    """Decode ``path`` as a photo, else as a film; refuse anything else with a clear message."""
    upload = _as_photo(path, name, limits) or _as_film(path, name, limits)
    if upload is None:
        raise UploadError(f"{name}: neither an image nor a video could be decoded from it. "
                          "Upload a photo (JPEG, PNG, WebP, TIFF, ...) or a film (MP4, WebM, MKV, "
                          "...); a truncated download also ends up here.", 415)
    return upload


__all__ = ["Limits", "Upload", "UploadError", "identify", "save_stream"]
