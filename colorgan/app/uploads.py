"""What an upload is: a photo or a film, decided by decoding it (never by its name), within limits.

A photo is a raster PIL decodes in full; a film is a container with a video stream (not cover
art) whose first frame FFmpeg decodes. Anything else (an SVG, a PDF, audio with cover art, a
decoder's own exception) is refused with 415. Every refusal is an :class:`UploadError` whose
message the page shows as it is; its ``status`` is the HTTP code.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from colorgan.video.io import _stream_seconds, is_cover_art

log = logging.getLogger("colorgan.app")

# formats PIL recognises but cannot decode to pixels here: MPEG-1 films (FFmpeg's), drawings that
# need Ghostscript / a WMF handler, scientific containers that need a plug-in
NOT_PHOTOS = {"MPEG", "EPS", "WMF", "BUFR", "GRIB", "HDF5"}
EXPORT = "export it as PNG or JPEG first"


class UploadError(ValueError):
    """A refused upload: the message is for the person who sent it; ``status`` for HTTP."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one upload may be (``colorgan serve --max-upload-mb``, ``--max-pixels``, ...)."""

    max_upload_mb: float = 50.0
    max_film_seconds: float = 60.0
    max_pixels: int = 40_000_000  # per photo or film frame (a 40 MP photo, 8K frames)
    upload_timeout: float = 10.0  # the longest wait for the next piece of an upload's body
    max_upload_seconds: float = 600.0  # the whole body (50 MB in 600 s: 85 KB/s at least)

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
    pages: int = 1                # photos: frames of an animated GIF/WebP/PNG, pages of a TIFF
    track_seconds: float = 0.0    # films: the video track's own duration (0 when unknown)


def too_large(name: str, limits: Limits) -> UploadError:
    return UploadError(f"{name}: larger than the {limits.max_upload_mb:g} MB upload limit. Upload "
                       "a smaller file, or start the server with a larger --max-upload-mb.", 413)


def _too_many_pixels(name: str, w: int, h: int, limits: Limits) -> UploadError:
    return UploadError(f"{name}: {w}x{h} is {w * h / 1e6:.1f} megapixels, above the "
                       f"{limits.max_pixels / 1e6:g} MP limit (--max-pixels). Resize it first.", 413)


def _as_photo(path: Path, name: str, limits: Limits) -> Upload | str | None:
    """A fully decoded still image; else what PIL found (a format it cannot decode), or None."""
    try:
        im = Image.open(path)
    except Image.DecompressionBombError:
        raise UploadError(f"{name}: the image is too large to decode safely (--max-pixels).", 413) \
            from None
    except Exception:  # noqa: BLE001 - UnidentifiedImageError, or a plug-in choking on the bytes
        return None
    with im:
        fmt, (w, h) = im.format, im.size
        if fmt == "MPEG":
            return None  # an MPEG-1 film: FFmpeg's
        if fmt in NOT_PHOTOS:
            return f"{fmt} data that needs a plug-in to be drawn: {EXPORT}"
        if w <= 0 or h <= 0:
            return f"a {fmt} header for a {w}x{h} picture, which has no pixels"
        if w * h > limits.max_pixels:
            raise _too_many_pixels(name, w, h, limits)
        try:
            im.load()  # decodes every byte: truncated or damaged files fail here
        except Image.DecompressionBombError:
            raise UploadError(f"{name}: the image is too large to decode safely "
                              "(--max-pixels).", 413) from None
        except Exception as e:  # noqa: BLE001 - OSError, SyntaxError, a plug-in's own errors
            raise UploadError(f"{name}: a {fmt or 'damaged'} image that cannot be decoded ({e}); "
                              "it is probably truncated or damaged. Upload the complete file.",
                              422) from None
        try:
            pages = int(getattr(im, "n_frames", 1) or 1)  # may walk a damaged TIFF's pages
        except Exception:  # noqa: BLE001 - the first page decoded, which is what is used
            pages = 1
    exts = [ext for ext, f in Image.registered_extensions().items() if f == fmt]
    return Upload("photo", path.rename(path.with_suffix(exts[0] if exts else ".img")), w, h,
                  pages=pages)


def _as_film(path: Path, name: str, limits: Limits) -> Upload | str | None:
    """A container with a decodable video stream; else what FFmpeg found, or None."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError:
        return None
    with container:
        fmt = container.format.name.split(",")[0]
        if fmt == "image2" or fmt.endswith("_pipe"):  # one still picture, not a film
            return f"a picture PIL cannot decode, such as a vector drawing: {EXPORT}"
        videos = [s for s in container.streams.video if not is_cover_art(s)]
        if not videos:
            art = " (its only picture is cover art)" if container.streams.video else ""
            raise UploadError(f"{name}: has no video stream{art}; is it audio only? Upload a "
                              "photo or a film.", 415)
        stream = videos[0]
        if stream.codec_context is None:  # FFmpeg knows the stream, but has no decoder for it
            return "a video stream in a format this FFmpeg cannot decode"
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
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as e:
            raise UploadError(f"{name}: no frame of its video can be decoded ({e or 'no frames'}); "
                              "it is probably truncated or damaged.", 422) from None
        w, h = first.width, first.height
        if w <= 0 or h <= 0:
            return "a video stream whose frames have no size"
        if w * h > limits.max_pixels:
            raise _too_many_pixels(name, w, h, limits)
        rate = stream.average_rate or stream.guessed_rate
        # PyAV >= 18: a closed stream's attributes cannot be read
        track, frames = _stream_seconds(container, stream), int(stream.frames or 0)
    ext = {"mov": ".mp4", "matroska": ".mkv"}.get(fmt, f".{fmt}")
    return Upload("film", path.rename(path.with_suffix(ext)), w, h, seconds, frames,
                  float(rate) if rate else None, track_seconds=track)


def identify(path: Path, name: str, limits: Limits) -> Upload:
    """Decode ``path`` as a photo, else as a film; refuse anything else with a clear message
    (415), whatever exception a decoder raises on the way."""
    found = None
    try:
        found = _as_photo(path, name, limits)
        if not isinstance(found, Upload):  # what the film decoder found, else the photo's
            found = _as_film(path, name, limits) or found
    except UploadError:
        raise
    except Exception as e:  # noqa: BLE001 - a decoder's surprise is the file's, not the server's
        log.info("upload %r: the decoders failed on it (%s: %s)", name, type(e).__name__, e)
        found = f"the decoders failed on it: {type(e).__name__}"
    if isinstance(found, Upload):
        return found
    what = f" ({found})" if found else ""
    raise UploadError(f"{name}: neither an image nor a video could be decoded from it{what}. "
                      "Upload a photo (JPEG, PNG, WebP, TIFF, ...) or a film (MP4, WebM, MKV, "
                      "...); a truncated download also ends up here.", 415)


__all__ = ["Limits", "Upload", "UploadError", "identify", "too_large"]
