"""Photo colorization: one image, or a folder of images with its tree mirrored.

Each photo is colorized at the model's training size and recombined with its own
full-resolution luminance (see :mod:`colorgan.colorize.colorizer`), so any size keeps its sharpness.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from colorgan.colorize.colorizer import Colorizer
from colorgan.media import InputError, mirror_images
from colorgan.utils.atomic import atomic_output, check_output


def read_image(path: Path) -> torch.Tensor:
    """Any PIL-readable photo (gray, RGB, RGBA, palette) -> uint8 (3, H, W)."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))  # (H, W, 3)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise InputError(f"{path}: cannot be read as an image ({e}). Is the file complete?") \
            from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)


def write_image(rgb: torch.Tensor, target: Path, overwrite: bool = False) -> None:
    """uint8 (3, H, W) -> ``target`` (format from its extension), atomically."""
    with atomic_output(target, overwrite) as tmp:
        fmt = Image.registered_extensions().get(target.suffix.lower())
        if fmt is None:
            raise InputError(f"-o {target}: unknown image extension {target.suffix!r}; "
                             "use .png or .jpg.")
        Image.fromarray(rgb.permute(1, 2, 0).numpy()).save(tmp, format=fmt, quality=95)


def colorize_image(src: Path, dst: Path, colorizer: Colorizer, overwrite: bool = False) -> None:
    colorizer.check_mode("independent")
    rgb = read_image(src)
    write_image(colorizer.colorize(rgb.unsqueeze(0))[0], dst, overwrite)


def colorize_folder(src: Path, dst: Path, colorizer: Colorizer, overwrite: bool = False,
                    progress: bool = True) -> tuple[int, list[str]]:
    """Colorize every image under ``src`` into the same tree under ``dst``.

    Unreadable images are skipped; returns (written, one message per skipped image).
    """
    colorizer.check_mode("independent")
    pairs = mirror_images(src, dst)
    if not overwrite:  # refuse before doing any work, naming the first clash
        for _, out in pairs:
            check_output(out, overwrite=False)
    written, errors = 0, []
    for inp, out in tqdm(pairs, unit="image", disable=not progress, desc=src.name):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            colorize_image(inp, out, colorizer, overwrite)
            written += 1
        except InputError as e:
            errors.append(str(e))
    return written, errors


__all__ = ["colorize_folder", "colorize_image", "read_image", "write_image"]
