"""The web page's colour points: recolorize an uploaded photo with the user's hints, fast.

A photo job of a hint checkpoint keeps its decoded pixels (``photo.npy`` in the job's folder),
so each change of the points costs one generator pass and a PNG, not an upload and a decode.
The hints are the JSON list ``colorgan colorize --hints`` reads (:mod:`colorgan.hints.user`),
checked by the same :func:`parse_hints`; the colours come from the same
``Colorizer.colorize(frames, hints=..., palette=...)`` call, so the page's image is the command
line's (Zhang, Zhu et al. 2017, arXiv:1705.02999: points + a reference's palette).
"""
from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import torch
from PIL import Image
from starlette.requests import ClientDisconnect, Request

from colorgan.app.jobs import Job
from colorgan.app.uploads import Limits, Upload, UploadError
from colorgan.app.work import PHOTO, scale_chroma
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.photos import read_image
from colorgan.hints.user import MAX_FILE_BYTES, HintError, Point, parse_hints, reference_palette

NOT_HINTS = ("this checkpoint was trained without hints (model.hints.enabled=false): the page "
             "cannot take colour points; start the server with a checkpoint trained with "
             "model.hints.enabled=true.")


def kept_photo(job: Job) -> torch.Tensor:
    """The job's decoded photo -> uint8 (1, 3, H, W)."""
    if job.kind != "photo" or job.state != "done" or not (job.folder / PHOTO).is_file():
        raise UploadError(f"job {job.id[:40]}: colour points need a colorized photo of this "
                          "server; upload the photo again.", 409)
    return torch.from_numpy(np.load(job.folder / PHOTO)).permute(2, 0, 1)[None]


async def read_body(request: Request, limits: Limits, what: str,
                    cap: int = MAX_FILE_BYTES) -> bytes:
    """A small request body (a hints list): at most ``cap`` bytes, all of it within
    ``--upload-timeout`` seconds; else 413 / 408 with a message."""
    declared = request.headers.get("content-length", "")
    big = UploadError(f"{what}: more than {cap:,} bytes; a hints list is at most "
                      f"{cap:,} bytes.", 413)
    if declared.isdigit() and int(declared) > cap:
        raise big
    body = bytearray()
    try:
        async with asyncio.timeout(limits.upload_timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > cap:
                    raise big
    except TimeoutError:
        raise UploadError(f"{what}: the body did not arrive within {limits.upload_timeout:g} s "
                          "(--upload-timeout).", 408) from None
    except ClientDisconnect:
        raise UploadError(f"{what}: the client went away.") from None
    return bytes(body)


def parse_request(body: bytes, width: int, height: int) -> list[Point]:
    """The request's JSON list of points -> points on the photo; 400 with parse_hints' message."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        why = f"{e.msg} at line {e.lineno}, column {e.colno}" \
            if isinstance(e, json.JSONDecodeError) else "not UTF-8 text"
        raise UploadError(f"hints: the request is not JSON ({why}); send a list like "
                          '[{"x": 10, "y": 20, "color": "#d02020"}].') from None
    try:
        return parse_hints(data, "hints", width, height)
    except HintError as e:
        raise UploadError(str(e)) from None


def png_bytes(rgb: torch.Tensor) -> bytes:
    """uint8 (3, H, W) -> a PNG (lossless; fast compression: it is sent, not archived)."""
    buf = io.BytesIO()
    Image.fromarray(rgb.permute(1, 2, 0).contiguous().numpy()).save(buf, format="PNG",
                                                                     compress_level=1)
    return buf.getvalue()


def recolorize(job: Job, colorizer: Colorizer, points: list[Point],
               palette: torch.Tensor | None, chroma: float = 1.0) -> bytes:
    """The job's photo colorized with ``points`` (and a reference ``palette`` (1, D)) -> PNG."""
    rgb = kept_photo(job)  # (1, 3, H, W)
    fake = scale_chroma(colorizer.colorize(rgb, hints=points, palette=palette), chroma)
    return png_bytes(fake[0])


def reference_of(upload: Upload, name: str) -> torch.Tensor:
    """An uploaded reference photo -> its palette (1, D); films and gray photos are refused."""
    if upload.kind != "photo":
        raise UploadError(f"{name}: a reference must be a colour photo, not a film.", 415)
    try:
        return reference_palette(read_image(upload.path), name)
    except HintError as e:
        raise UploadError(str(e), 422) from None


__all__ = ["NOT_HINTS", "kept_photo", "parse_request", "png_bytes",
           "read_body", "recolorize", "reference_of"]
