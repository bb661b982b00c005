"""``colorgan eval --images DIR --full-res --ckpt CKPT``: the numbers of what a user gets.

Each photo of the folder goes through ``colorgan colorize``'s own path
(:func:`colorgan.colorize.photos.colorize_photo` with the checkpoint's :class:`Colorizer`: its
EMA weights, flip / shift averaging, chroma gain and gamut mapping), at the photo's own size,
and is measured against the original photo at that size: PSNR, SSIM, colorfulness and
CIEDE2000 (:func:`colorgan.metrics.gray_baseline`, the per-image numbers of the training
split's eval), and the same for the gray baseline (the photo's own L with ab = 0, decoded and
rounded to 8 bits like the output). The split eval (``colorgan eval ckpt_path=...``) measures
the network at its training size instead; see docs/evaluation.md for when to use which.

Photos of different sizes: each photo's metrics are computed on its own pixels, then averaged
over photos (every photo counts once, whatever its size); Delta CF is |mean CF - mean CF of
the originals| over the photos, as in the split eval.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from colorgan.color import float_to_uint8, lab_norm_to_rgb, rgb_to_lab_norm, uint8_to_float
from colorgan.media import IMAGE_EXTS, InputError, find_images

METRICS = ("psnr", "ssim", "colorfulness", "ciede2000")  # the columns of gray_baseline's rows


def check_folder(folder: Path | None) -> list[Path]:
    """``--images DIR`` -> its photos (sorted, the tree walked); errors name the option."""
    if folder is None:
        raise InputError("--full-res needs --images DIR: a folder of colour photos to colorize "
                         "and compare with.")
    if not folder.exists():
        raise InputError(f"--images {folder}: no such folder.")
    if not folder.is_dir():
        raise InputError(f"--images {folder}: is a file; --full-res measures a folder of "
                         f"photos (put it in one: --images {folder.parent}).")
    paths = find_images(folder)
    if not paths:
        raise InputError(f"--images {folder}: no images found (looked for "
                         f"{', '.join(IMAGE_EXTS)}, sub-folders included).")
    return paths


@torch.no_grad()
def gray_output(real: torch.Tensor) -> torch.Tensor:
    """uint8 (3, H, W) -> the gray baseline as a user would get it: the photo's L, ab = 0,
    decoded like every output (:func:`lab_norm_to_rgb`) and rounded to uint8 (3, H, W)."""
    L, _ = rgb_to_lab_norm(uint8_to_float(real[None]))  # (1, 1, H, W)
    return float_to_uint8(lab_norm_to_rgb(L, L.new_zeros(1, 2, *L.shape[-2:])))[0]


def photo_scores(fake: torch.Tensor, gray: torch.Tensor, real: torch.Tensor) -> dict[str, Any]:
    """uint8 (3, H, W) output, gray baseline and original -> their metrics at this size."""
    from colorgan.metrics import gray_baseline  # per-image PSNR, SSIM, CF, CIEDE2000, CF truth

    pred = uint8_to_float(torch.stack([fake, gray]))  # (2, 3, H, W)
    truth = uint8_to_float(real)[None].expand(2, -1, -1, -1)
    rows = gray_baseline(pred, truth).tolist()  # (2, 5)
    return {"model": dict(zip(METRICS, rows[0])), "gray_baseline": dict(zip(METRICS, rows[1])),
            "colorfulness_gt": rows[0][4]}


def summarize(per_image: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-photo rows -> the means over photos, and Delta CF of those means (model, gray)."""
    gt = float(np.mean([r["colorfulness_gt"] for r in per_image]))
    out: dict[str, Any] = {"colorfulness_gt": gt}
    for key in ("model", "gray_baseline"):
        means = {m: float(np.mean([r[key][m] for r in per_image])) for m in METRICS}
        means["delta_colorfulness"] = abs(means["colorfulness"] - gt)
        out[key] = means
    return out


def evaluate_full_res(folder: Path, colorizer, progress: bool = False) -> dict[str, Any]:
    """Colorize every photo under ``folder`` at its own size with ``colorizer`` and measure it;
    unreadable photos are skipped and named (``skipped_images``)."""
    from colorgan.colorize.photos import colorize_photo, read_photo

    per_image, skipped = [], []
    for path in tqdm(check_folder(folder), unit="photo", disable=not progress, desc=folder.name):
        try:
            photo = read_photo(path)
        except InputError as e:
            skipped.append(str(e))
            continue
        real = torch.from_numpy(np.array(photo.rgb)).permute(2, 0, 1)  # uint8 (3, H, W)
        fake = colorize_photo(real, colorizer)  # uint8 (3, H, W): exactly what colorize writes
        row = {"file": str(path.relative_to(folder)), "height": int(real.shape[1]),
               "width": int(real.shape[2]), **photo_scores(fake, gray_output(real), real)}
        per_image.append({**row, "notes": photo.notes} if photo.notes else row)
    if not per_image:
        raise InputError(f"--images {folder}: none of its {len(skipped)} images could be read "
                         f"(first: {skipped[0]}).")
    return {**summarize(per_image), "num_images": len(per_image), "full_res": True,
            "averaging": "per photo: each photo's metrics at its own size, then the mean over "
                         "photos", "images": str(folder), "skipped_images": skipped,
            "per_image": per_image, "status": "ok"}


def _parser() -> argparse.ArgumentParser:
    from colorgan.colorize.cli import _model_args

    p = argparse.ArgumentParser(
        prog="colorgan eval --full-res",
        description="Colorize every photo of a folder as `colorgan colorize` does, at its own "
                    "size, and measure it against the photo (and the gray baseline).")
    p.add_argument("--images", type=Path, default=None, help="a folder of colour photos")
    p.add_argument("--full-res", action="store_true", help="this evaluation (always on here)")
    p.add_argument("--json", type=Path, default=None,
                   help="also write the numbers (means and per photo) to this file")
    p.add_argument("--no-progress", action="store_true")
    _model_args(p)  # --ckpt, --backend onnx --model, --device, --chroma-gain, --flip, ...
    return p


def _evaluate(argv: list[str]) -> int:
    from colorgan.colorize.cli import _check_model_args, _load_colorizer
    from colorgan.eval import format_table
    from colorgan.utils.atomic import write_text_atomic

    # the split eval's ckpt_path=... spelling is understood too
    argv = [x for arg in argv for x in (("--ckpt", arg.split("=", 1)[1])
                                        if arg.startswith("ckpt_path=") else (arg,))]
    a = _parser().parse_args(argv)
    check_folder(a.images)  # before the model loads
    _check_model_args(a)
    if a.json is not None and a.json.is_dir():
        raise InputError(f"--json {a.json}: is a folder; give a file name, e.g. "
                         f"{a.json / 'metrics.json'}.")
    colorizer = _load_colorizer(a)
    payload = evaluate_full_res(a.images, colorizer, progress=not a.no_progress)
    payload["checkpoint"] = a.source
    for message in payload["skipped_images"]:
        print(f"skipped: {message}", file=sys.stderr)
    print(f"\nFull-resolution evaluation of {a.images} ({payload['num_images']} photos, each "
          f"at its own size; means over photos):\n{format_table(payload)}\n", flush=True)
    if a.json is not None:
        try:
            write_text_atomic(a.json, json.dumps(payload, indent=2))
        except OSError as e:
            raise InputError(f"--json {a.json}: cannot be written ({e.strerror or e}); the "
                             "table above is complete. Pass --json with a writable place.") \
                from None
    return 0


def main(argv: list[str] | None = None) -> int:
    """``colorgan eval --full-res ...``: user errors are one line on stderr, exit code 1."""
    from colorgan.colorize.cli import _run

    return _run(_evaluate, list(sys.argv[1:] if argv is None else argv))


__all__ = ["check_folder", "evaluate_full_res", "gray_output", "main", "photo_scores",
           "summarize"]
