"""A film's reference image on the web page: the colour a colorist gave the film's first frame.

The page sends the image first (``POST /api/film-reference``): it must be a colour photo. With the
film (``POST /api/colorize?reference_frame=ID``) it is checked against the film's size (the same
aspect ratio within 1 %, then resized to the film's size, since a colorist's export is often
scaled) and written as ``000000.png`` (frame index 0) into a private folder of the film's job:
the ``--reference-frames DIR`` of ``colorgan colorize``, so ``colorize_video`` carries its colour
through the first shot (colorgan/colorize/carry.py). The folder goes when the job ends.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from colorgan.app.uploads import Upload, UploadError
from colorgan.color import AB_SCALE, rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.photos import read_image, write_image
from colorgan.hints.user import GRAY_CHROMA

ASPECT_TOLERANCE = 0.01  # the reference's width/height may differ from the film's by 1 %
FOLDER = "reference_frames"  # inside the film's job folder, removed when the job ends
FIRST = "000000.png"  # frame index 0: the first frame of the first shot


def mean_chroma(rgb: torch.Tensor) -> float:
    """uint8 (3, H, W) -> its mean a*b* chroma (Lab units; a gray image is near 0)."""
    _, ab = rgb_to_lab_norm(uint8_to_float(rgb)[None])  # (1, 2, H, W)
    return float(ab.norm(dim=1).mean()) * AB_SCALE


def check_reference(upload: Upload, name: str) -> torch.Tensor:
    """A reference upload -> uint8 (3, H, W); a film or a gray image is refused, saying why."""
    if upload.kind != "photo":
        raise UploadError(f"{name}: the reference for the first shot must be a colour image "
                          "(PNG, JPEG, ...), not a film.", 415)
    rgb = read_image(upload.path)  # (3, H, W)
    chroma = mean_chroma(rgb)
    if chroma < GRAY_CHROMA:
        raise UploadError(f"{name}: is black and white (mean chroma {chroma:.1f} < "
                          f"{GRAY_CHROMA:g}), so it has no colour to give the film; upload the "
                          "first frame as the colorist coloured it.", 422)
    return rgb


def fit_to_film(rgb: torch.Tensor, name: str, width: int, height: int) -> torch.Tensor:
    """uint8 (3, h, w) -> uint8 (3, height, width): the same aspect ratio within 1 %, resized."""
    h, w = rgb.shape[-2:]
    if abs((w / h) / (width / height) - 1.0) > ASPECT_TOLERANCE:
        raise UploadError(f"{name}: is {w}x{h} (aspect ratio {w / h:.3f}), the film is "
                          f"{width}x{height} ({width / height:.3f}); the reference must be the "
                          "film's first frame, at the film's aspect ratio (any size).", 422)
    if (h, w) == (height, width):
        return rgb
    img = uint8_to_float(rgb)[None]  # (1, 3, h, w)
    out = F.interpolate(img, size=(height, width), mode="bilinear", antialias=True,
                        align_corners=False).clamp(0, 1)
    return (out[0] * 255).round().to(torch.uint8)  # (3, height, width)


def place_reference(rgb: torch.Tensor, name: str, width: int, height: int,
                    job_folder: Path) -> Path:
    """Write the reference, fitted to the film, as ``FOLDER/000000.png`` of the film's job;
    the folder (a ``--reference-frames`` DIR). Nothing is written when it is refused."""
    fitted = fit_to_film(rgb, name, width, height)
    folder = job_folder / FOLDER
    folder.mkdir()
    write_image(fitted, folder / FIRST, overwrite=True)
    return folder


__all__ = ["ASPECT_TOLERANCE", "FIRST", "FOLDER", "check_reference", "fit_to_film",
           "mean_chroma", "place_reference"]
