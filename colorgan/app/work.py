"""What a job does: colorize a photo (gray | colorized | original) or a film (streamed, audio
kept), through the same functions as ``colorgan colorize``.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import av
import numpy as np
import torch

from colorgan.app.jobs import Job
from colorgan.app.uploads import Limits, Upload
from colorgan.color import (
    float_to_uint8,
    lab_norm_to_rgb,
    rgb_to_lab_norm,
    scale_ab,
    uint8_to_float,
)
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video, is_colour
from colorgan.colorize.photos import read_image, write_image
from colorgan.video.io import film_stream

CHROMA_RANGE = (0.0, 2.0)  # the page's "colour strength" slider: 0 = gray, 1 = the model's output
PHOTO = "photo.npy"  # a hint checkpoint's photo job keeps its decoded pixels (app/hints.py)


def scale_chroma(rgb: torch.Tensor, chroma: float) -> torch.Tensor:
    """Multiply the a*b* chroma of uint8 (B, 3, H, W) by ``chroma``; 1 returns it unchanged."""
    if chroma == 1.0:
        return rgb
    L, ab = rgb_to_lab_norm(uint8_to_float(rgb))
    return float_to_uint8(lab_norm_to_rgb(L, scale_ab(ab, chroma)))


def gray_of(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> its Lab lightness as gray uint8 (B, 3, H, W): what the model sees."""
    return scale_chroma(rgb, 0.0)


def colorize_photo(job: Job, upload: Upload, colorizer: Colorizer, chroma: float = 1.0,
                   keep: bool = False) -> None:
    """Write gray.png, color.png (full resolution) and, for a colour upload, original.png;
    ``keep``: also the decoded pixels (photo.npy), for refreshes with colour points."""
    rgb = read_image(upload.path).unsqueeze(0)  # (1, 3, H, W)
    if keep:
        np.save(job.folder / PHOTO, rgb[0].permute(1, 2, 0).contiguous().numpy())  # (H, W, 3)
    fake = scale_chroma(colorizer.colorize(rgb), chroma)  # (1, 3, H, W)
    outputs = {"gray": gray_of(rgb), "color": fake}
    if is_colour(rgb):
        outputs["original"] = rgb
    for role, img in outputs.items():
        write_image(img[0], job.folder / f"{role}.png", overwrite=True)
    job.files = {role: f"{role}.png" for role in outputs}
    job.height, job.width = fake.shape[-2:]
    if upload.pages > 1:
        job.notice = (f"{job.name} holds {upload.pages} frames (an animation or a multi-page "
                      "file); only the first was colorized. To colorize every frame, convert it "
                      "to a film (for example `ffmpeg -i FILE film.mp4`) and upload that.")


def _has_more_frames(path: Path, n: int) -> bool:
    """Whether the film holds a video packet after its first ``n`` (demuxed, not decoded)."""
    with av.open(str(path)) as container:
        stream = film_stream(container)
        seen = 0
        for packet in container.demux(stream):
            seen += packet.size > 0
            if seen > n:
                return True
    return False


def colorize_film(job: Job, upload: Upload, colorizer: Colorizer, limits: Limits,
                  temporal: str = "independent", strength: float = 0.6,
                  reference_frames: Path | None = None) -> None:
    """color.mp4 through the streaming pipeline; ``job.done`` counts the frames as they pass.
    ``reference_frames``: a private folder of reference frames (app/film_reference.py), removed
    when the film is done or has failed."""
    rate = upload.rate or 30.0
    max_frames = None  # a known duration was checked against the limit in identify()
    if upload.seconds is None:  # a container without one (a cut-off WebM): stop at the limit
        max_frames = math.ceil(limits.max_film_seconds * rate)
    job.total = upload.frames or (round(upload.seconds * rate) if upload.seconds else 0)

    def on_batch(done: int) -> None:
        job.done = done
        job.total = max(job.total, done)

    try:
        result = colorize_video(upload.path, job.folder / "color.mp4", colorizer, temporal,
                                strength, overwrite=True, max_frames=max_frames, progress=False,
                                on_batch=on_batch, reference_frames=reference_frames)
    finally:
        if reference_frames is not None:
            shutil.rmtree(reference_frames, ignore_errors=True)
    job.total = job.done = result.frames
    job.files = {"film": "color.mp4"}
    job.width, job.height = upload.width, upload.height
    job.message = f"{result.frames} frames in {result.seconds:.1f} s, {len(result.cuts)} scene cuts"
    expected = upload.frames or round(upload.track_seconds * rate)  # 0 when unknown
    if max_frames and result.frames >= max_frames and _has_more_frames(upload.path, max_frames):
        name, n = job.name, result.frames  # what was done, and how to do it whole
        job.notice = (f"{name}: the film was cut at {n / rate:.1f} s ({n} frames): the page "
                      f"colorizes at most {limits.max_film_seconds:g} s (--max-film-seconds); the "
                      f"rest was not colorized. To colorize it whole, run `colorgan colorize --ckpt "
                      f"CKPT {name} -o {Path(name).stem}_color.mp4`, or start the server with a "
                      "larger --max-film-seconds.")
        job.message += f"; cut at {result.frames / rate:.1f} s, the length limit"
    elif expected and result.frames < expected - max(2, 0.02 * expected):
        job.notice = (f"{job.name}: only {result.frames} of its {expected} frames could be "
                      f"decoded ({result.frames / rate:.1f} of {expected / rate:.1f} s); the file "
                      "is probably truncated or damaged, and the rest was not colorized. Upload "
                      "the complete file.")
        job.message += f"; {expected - result.frames} frames could not be decoded"


__all__ = ["CHROMA_RANGE", "PHOTO", "colorize_film", "colorize_photo", "gray_of", "scale_chroma"]
