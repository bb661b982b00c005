"""``colorgan colorize --hints FILE --reference PHOTO``: the command line's user hints, checked
before the model loads and before anything is written (format and rules: docs/hints.md).

- ``--hints FILE``: colour points for one photo (its sidecar, if any, is then not read);
- a sidecar ``NAME.hints.json`` beside a photo is used for it, alone or in a folder;
- ``--reference PHOTO``: its palette steers every photo of the run;
- films: ``--reference PHOTO`` steers every automatic frame; points are for photos
  (``--reference-frames DIR`` steers a film's shots: docs/films.md, "Reference frames").
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorgan.colorize.colorizer import CheckpointError, Colorizer
from colorgan.hints.user import (
    REFERENCE_SIDE,
    check_hints,
    folder_sidecars,
    read_hints_json,
    reference_palette,
)
from colorgan.media import InputError
from colorgan.predictor import HINT_MIX, check_hint_mix


def add_hint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hints", type=Path, default=None, metavar="FILE",
                   help="hint checkpoints: a JSON list of colour points for the photo, e.g. "
                        "[{\"x\": 120, \"y\": 48, \"color\": \"#d02020\"}] (docs/hints.md); for a "
                        "folder, put NAME.hints.json beside each photo instead")
    p.add_argument("--reference", type=Path, default=None, metavar="PHOTO",
                   help="hint checkpoints: a colour photo whose palette steers every photo")
    p.add_argument("--hint-mix", default=None, type=str, metavar="A",
                   help="hint checkpoints, photos with points: the colour is (1 - A) x the "
                        "model's + A x the points' propagation by Levin et al. 2004 (0: the "
                        f"model alone; default {HINT_MIX:g}, chosen on validation photos)")


def check_hint_args(a: argparse.Namespace, kind: str) -> torch.Tensor | None:
    """The options against the input kind, the hints file's format, and the reference's
    palette (1, D) or None; before the model loads."""
    given = [f"--{k} {getattr(a, k)}" for k in ("hints", "reference") if getattr(a, k)]
    if kind == "video" and a.hints:
        raise InputError(f"--hints {a.hints}: points are for photos; to steer the film "
                         f"{a.input}, colour some of its frames and pass them with "
                         "--reference-frames DIR (docs/films.md), or a palette with --reference.")
    if kind == "video" and getattr(a, "hint_mix", None) is not None:
        raise InputError(f"--hint-mix {a.hint_mix}: mixes a photo's colour with its points' "
                         f"propagation, and {a.input} is a film (no points); leave it out.")
    if kind != "video" and getattr(a, "reference_frames", None):
        raise InputError(f"--reference-frames {a.reference_frames}: is for films, and {a.input} "
                         "is no video; steer photos with --hints or --reference.")
    if kind == "folder" and a.hints:
        raise InputError(f"--hints {a.hints} is for one photo; for the folder {a.input}, put "
                         "each photo's points beside it as NAME.hints.json (docs/hints.md).")
    if a.hints:
        check_hints(read_hints_json(a.hints), str(a.hints))
    hint_mix(a)  # a bad --hint-mix fails before the model loads
    if a.chroma_gain is not None and given:
        warnings.warn(f"--chroma-gain {a.chroma_gain:g} is the automatic mode's knob: photos "
                      f"steered by {' and '.join(g.split()[0] for g in given)} get gain 1.",
                      stacklevel=2)
    return read_reference(a.reference) if a.reference else None


def read_reference(path: Path) -> torch.Tensor:
    """--reference PHOTO (any size, read like every photo) -> its palette (1, D)."""
    from colorgan.colorize.photos import read_photo

    try:
        photo = read_photo(path)
    except InputError as e:
        raise InputError(f"--reference {e}") from None
    img = Image.fromarray(photo.rgb)
    img.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE))  # a palette: a small copy is enough
    rgb = torch.from_numpy(np.array(img)).permute(2, 0, 1)
    return reference_palette(rgb, f"--reference {path}")  # (1, D)


def hint_mix(a: argparse.Namespace) -> float | None:
    """--hint-mix, checked (None: not given)."""
    value = getattr(a, "hint_mix", None)
    if value is None:
        return None
    try:
        return check_hint_mix(value, "--hint-mix")
    except ValueError:
        raise InputError(f"--hint-mix {value}: must be a number in [0, 1] (0: the model's colour "
                         f"alone, 1: Levin et al.'s fill alone; default {HINT_MIX:g}).") from None


def check_hint_model(a: argparse.Namespace, colorizer: Colorizer) -> None:
    """--hints / --reference / --hint-mix need a checkpoint trained with hints; the last is
    then set on its Predictor."""
    given = [f"--{k.replace('_', '-')} {getattr(a, k)}"
             for k in ("hints", "reference", "hint_mix") if getattr(a, k, None) is not None]
    if given and not colorizer.supports_hints:
        raise CheckpointError(f"{given[0]}: {a.source} was trained without hints "
                              "(model.hints.enabled=false), so it cannot be steered; leave out "
                              "--hints/--reference/--hint-mix, or use a checkpoint trained "
                              "with model.hints.enabled=true (docs/hints.md).")
    mix = hint_mix(a)
    if mix is not None:
        colorizer.predictor.hint_mix = mix


def photo_hints(a: argparse.Namespace, colorizer: Colorizer) -> Path | None:
    """A single photo's hints file: --hints, else its sidecar (ignored, with a warning, by a
    checkpoint without hints)."""
    if a.hints:
        return a.hints
    return folder_sidecars([a.input], colorizer.supports_hints).get(a.input)


__all__ = ["add_hint_args", "check_hint_args", "check_hint_model", "hint_mix", "photo_hints",
           "read_reference"]
