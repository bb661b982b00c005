"""``colorgan colorize film.mp4 --reference-frames DIR``: a colorist's coloured frames.

DIR holds colour versions of some frames of the film, each named by the frame it is:

- ``000120.png``: frame index 120 (the first frame is 0; any number of digits);
- ``00-00-05.000.png`` (``HH-MM-SS.mmm``): the frame shown at 5 s, ``round(t * rate)``.

Each must be a colour image at the film's own size. Everything is checked before any output
is written, and a bad file is named with what to do (:class:`ReferenceFrameError`). How the
frames steer their shots: :mod:`colorgan.colorize.carry` and docs/films.md, "Reference frames".
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from colorgan.colorize.photos import read_image
from colorgan.hints.user import HintError, reference_palette
from colorgan.media import IMAGE_EXTS, InputError

INDEX = re.compile(r"^(\d+)$")
TIMESTAMP = re.compile(r"^(\d+)-(\d{2})-(\d{2}(?:\.\d+)?)$")
NAMES = "frame numbers (000120.png = frame 120) or timestamps (00-00-05.000.png = 5 s)"


class ReferenceFrameError(InputError):
    """A reference frame (or its folder) that cannot steer the film; names the file."""


def frame_of(path: Path, rate: float | None) -> int:
    """The frame index a file's name stands for; a name that is neither form is refused."""
    stem = path.stem
    if m := INDEX.match(stem):
        return int(m.group(1))
    if m := TIMESTAMP.match(stem):
        if not rate:
            raise ReferenceFrameError(f"{path}: a timestamp name needs the film's frame rate, "
                                      "which it does not give; name the file by frame number.")
        t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        return round(t * float(rate))
    raise ReferenceFrameError(f"{path}: the name {path.name!r} is no frame; name reference "
                              f"frames by {NAMES}.")


def load_reference_frames(folder: str | Path, width: int, height: int, frames: int | None,
                          rate: float | None) -> dict[int, torch.Tensor]:
    """Every coloured frame in ``folder`` -> {frame index: uint8 RGB (3, height, width)}.

    ``frames``: the film's frame count (None: unknown, indices are not checked against it).
    Hidden files (``.DS_Store``) are skipped; anything else must be a reference frame."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReferenceFrameError(f"--reference-frames {folder}: no such folder; give a folder "
                                  f"of coloured frames named by {NAMES}.")
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if not files:
        raise ReferenceFrameError(f"--reference-frames {folder}: the folder is empty; put "
                                  f"coloured frames there, named by {NAMES}.")
    refs: dict[int, torch.Tensor] = {}
    names: dict[int, Path] = {}
    for path in files:
        if path.is_dir() or path.suffix.lower() not in IMAGE_EXTS:
            raise ReferenceFrameError(f"{path}: not an image ({', '.join(IMAGE_EXTS)}); the "
                                      "folder of reference frames holds only coloured frames.")
        index = frame_of(path, rate)
        if frames is not None:
            check_indices({index: None}, folder, frames)
        if index in names:
            raise ReferenceFrameError(f"{names[index]} and {path}: both are frame {index}; "
                                      "keep one.")
        try:
            rgb = read_image(path)  # (3, H, W) uint8
        except InputError as e:
            raise ReferenceFrameError(str(e)) from None
        if tuple(rgb.shape[-2:]) != (height, width):
            raise ReferenceFrameError(
                f"{path}: {rgb.shape[-1]}x{rgb.shape[-2]} pixels, the film is {width}x{height}; "
                "export the reference frame at the film's size.")
        try:
            reference_palette(rgb, str(path))  # refuses a black-and-white image
        except HintError as e:
            raise ReferenceFrameError(f"{e} A reference frame is the colour the shot should "
                                      "have.") from None
        refs[index], names[index] = rgb.contiguous(), path
    return refs


def check_indices(refs: dict[int, object], folder: str | Path, frames: int) -> None:
    """Every reference's frame index inside the film's ``frames`` frames (0 to frames - 1)."""
    for index in sorted(refs):
        if not 0 <= index < frames:
            path = next((p for p in sorted(Path(folder).iterdir())
                         if not p.name.startswith(".") and _index_or_none(p) == index), folder)
            raise ReferenceFrameError(f"{path}: frame {index} is past the film's end ({frames} "
                                      f"frames are colorized, 0 to {frames - 1}); rename or "
                                      "remove it.")


def _index_or_none(path: Path) -> int | None:
    try:
        return frame_of(path, None)
    except ReferenceFrameError:
        return None


__all__ = ["NAMES", "ReferenceFrameError", "check_indices", "frame_of", "load_reference_frames"]
