"""Photo colorization: one image, or a folder of images with its tree mirrored.

Each photo is colorized at the model's training size and recombined with its own
full-resolution luminance (see :mod:`colorgan.colorize.colorizer`), so any size keeps its sharpness.
Large photos are recombined in horizontal bands (:func:`colorize_banded`), so memory stays
bounded: a 48-megapixel photo needs a few hundred MB above its decoded pixels, not 8 GB.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from colorgan.color import rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.colorizer import Colorizer
from colorgan.data.decode import FLATTENED, srgb_icc
from colorgan.data.images import Photo
from colorgan.data.images import read_photo as data_read_photo
from colorgan.hints.user import Point, folder_sidecars, hint_planes, load_hints
from colorgan.media import InputError, mirror_images
from colorgan.utils.atomic import OutputPathError, atomic_output, check_output, precheck_output

BAND_PIXELS = 1 << 21   # pixels recombined at once (~2 MP: some 100 MB of float intermediates)
REDUCED_SIDE = 1024     # the model input is made from a copy no longer than this per side
PIL_DEFAULT_LIMIT = Image.MAX_IMAGE_PIXELS
ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")  # outputs that keep the input's transparency
EXIF_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")  # ... and its EXIF metadata
JPEG_EXIF = 65533  # bytes of EXIF a JPEG's APP1 segment holds


def set_max_pixels(max_pixels: int | None) -> None:
    """``--max-pixels``: images above this many pixels are refused (None: PIL's default)."""
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"--max-pixels {max_pixels}: must be >= 1.")
    # PIL warns above MAX_IMAGE_PIXELS and refuses above twice that
    Image.MAX_IMAGE_PIXELS = PIL_DEFAULT_LIMIT if max_pixels is None else max(1, max_pixels // 2)


def read_photo(path: Path) -> Photo:
    """Any PIL-readable photo -> :class:`Photo` (upright sRGB uint8 (H, W, 3), alpha, notes);
    unreadable and oversized files become an InputError naming the file."""
    try:
        with warnings.catch_warnings():  # below the hard limit (--max-pixels): just do it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return data_read_photo(path)
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: {e} It was skipped; if you trust the file, raise the limit "
                         "with --max-pixels N (N >= width x height).") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: cannot be read as an image ({e}). Is the file complete?") \
            from None


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> (3, H, W) view: read-only pixels (no copy); never written to."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr).permute(2, 0, 1)


def read_image(path: Path) -> torch.Tensor:
    """Any PIL-readable photo (gray, RGB, RGBA, palette, 16-bit, float) -> upright uint8 (3, H, W);
    one warning names the file and what reading it changed (transparency on white, ...)."""
    photo = read_photo(path)
    notes = photo.notes + ([FLATTENED] if photo.alpha is not None else [])
    if notes:
        warnings.warn(f"{path}: {'; '.join(notes)}.", PhotoNoteWarning, stacklevel=2)
    return _tensor(photo.rgb)


class PhotoNoteWarning(UserWarning):
    """Something the input holds that the output will not: the file and what, in words."""


def image_format(target: Path) -> str:
    """PIL's format name for ``target``'s extension; checked before any work."""
    fmt = Image.registered_extensions().get(target.suffix.lower())
    if fmt is None or not Image.SAVE.get(fmt):
        raise InputError(f"-o {target}: unknown image extension {target.suffix!r}; "
                         "use .png or .jpg.")
    return fmt


def write_image(rgb: torch.Tensor, target: Path, overwrite: bool = False,
                alpha: np.ndarray | None = None, srgb_tag: bool = False,
                exif: bytes | None = None, dpi: tuple | None = None) -> None:
    """uint8 (3, H, W) [+ alpha uint8 (H, W)] -> ``target`` (format from its extension),
    atomically; ``srgb_tag`` embeds the sRGB profile (the input carried another one); the
    input's EXIF metadata and resolution are carried over when given."""
    fmt = image_format(target)
    img = Image.fromarray(rgb.permute(1, 2, 0).numpy())
    if alpha is not None and fmt in ALPHA_FORMATS:
        img.putalpha(Image.fromarray(alpha))
    extra = {"icc_profile": srgb_icc()} if srgb_tag else {}
    extra.update({"exif": exif} if exif else {}, **({"dpi": dpi} if dpi else {}))
    with atomic_output(target, overwrite) as tmp:
        img.save(tmp, format=fmt, quality=95, **extra)


def _reduce(rgb: torch.Tensor, side: int, band_rows: int) -> torch.Tensor:
    """uint8 (3, H, W) -> float (1, 3, h, w), longest side <= ``side``, antialiased like
    Colorizer.prepare: the width pass band by band, then the height pass."""
    H, W = rgb.shape[-2:]
    scale = min(1.0, side / max(H, W))
    h, w = max(1, round(H * scale)), max(1, round(W * scale))
    cols = [F.interpolate(uint8_to_float(rgb[None, :, y:y + band_rows]), size=(
        min(band_rows, H - y), w), mode="bilinear", antialias=True, align_corners=False)
        for y in range(0, H, band_rows)]  # each (1, 3, rows, w)
    return F.interpolate(torch.cat(cols, dim=2), size=(h, w), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)  # (1, 3, h, w)


def _upsample_rows(ab_wide: torch.Tensor, H: int, y0: int, y1: int) -> torch.Tensor:
    """Rows y0:y1 of the bilinear (align_corners=False) upsampling of (1, 2, h, W) to height H."""
    h = ab_wide.shape[-2]
    src = ((torch.arange(y0, y1, dtype=torch.float64) + 0.5) * h / H - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=h - 1)
    i1 = (i0 + 1).clamp(max=h - 1)
    wgt = (src - i0).float().view(1, 1, -1, 1)
    return ab_wide[:, :, i0] * (1 - wgt) + ab_wide[:, :, i1] * wgt  # (1, 2, y1 - y0, W)


@torch.no_grad()
def colorize_banded(rgb: torch.Tensor, colorizer: Colorizer, band_pixels: int = BAND_PIXELS,
                    hints: list[Point] | None = None,
                    palette: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 (3, H, W) -> uint8 (3, H, W) in bounded memory: the chroma predicted once from a
    reduced copy, recombined with the luminance band by band; ``hints``, ``palette``: as
    :meth:`Colorizer.colorize` (in the full photo's pixels)."""
    H, W = rgb.shape[-2:]
    rows = max(1, band_pixels // W)
    prep = colorizer.prepare(_reduce(rgb, max(REDUCED_SIDE, colorizer.image_size), rows))
    planes = hint_planes(hints, (H, W), prep.real_A.shape[-2:], 1, colorizer.device) \
        if hints else None
    ab_small = colorizer.predict_ab(prep.real_A, planes=planes, palette=palette).float().cpu()
    # (1, 2, min(s, H), W): never more rows than the photo (a 1-row strip is not 64 x W)
    ab_wide = F.interpolate(ab_small, size=(min(ab_small.shape[-2], H), W), mode="bilinear",
                            align_corners=False)
    out = torch.empty((3, H, W), dtype=torch.uint8)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        L_band, _ = rgb_to_lab_norm(uint8_to_float(rgb[None, :, y0:y1]))  # (1, 1, rows, W)
        out[:, y0:y1] = colorizer.finish(L_band, _upsample_rows(ab_wide, H, y0, y1))[0]
    return out


def colorize_photo(rgb: torch.Tensor, colorizer: Colorizer, hints: list[Point] | None = None,
                   palette: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 (3, H, W) -> uint8 (3, H, W); photos above BAND_PIXELS are done in bands."""
    if rgb.shape[-2] * rgb.shape[-1] > BAND_PIXELS:
        return colorize_banded(rgb, colorizer, hints=hints, palette=palette)
    return colorizer.colorize(rgb.unsqueeze(0), hints, palette)[0]


def colorize_image(src: Path, dst: Path, colorizer: Colorizer, overwrite: bool = False,
                   hints: Path | None = None, palette: torch.Tensor | None = None) -> None:
    """``src`` colorized into ``dst`` (a film generator gets no previous colour, as at a shot's
    first frame), steered by a ``hints`` file (:mod:`colorgan.hints.user`) and a reference's
    ``palette``; transparency (PNG, WebP, TIFF), EXIF and resolution are kept, and one warning
    names what the output cannot hold (more frames, 16-bit samples, another colour profile)."""
    if dst.resolve() == src.resolve():
        raise InputError(f"-o {dst} is the input photo itself: the colorized photo would "
                         "replace it; choose another -o OUTPUT.")
    check_output(dst, overwrite)  # before decoding a possibly huge photo
    fmt = image_format(dst)
    photo = read_photo(src)
    notes = list(photo.notes)
    if photo.alpha is not None and fmt not in ALPHA_FORMATS:
        notes.append(f"{FLATTENED}: {fmt} has no alpha channel (-o NAME.png keeps it)")
    exif = photo.exif
    if exif and fmt not in EXIF_FORMATS or exif and fmt == "JPEG" and len(exif) > JPEG_EXIF:
        notes.append(f"its EXIF metadata ({len(exif):,} bytes) was not kept: {fmt} "
                     f"{'has no room for it' if fmt == 'JPEG' else 'cannot store it'}")
        exif = None
    if notes:
        warnings.warn(f"{src}: {'; '.join(notes)}.", PhotoNoteWarning, stacklevel=2)
    points = None if hints is None else load_hints(hints, photo.rgb.shape[1], photo.rgb.shape[0])
    out = colorize_photo(_tensor(photo.rgb), colorizer, points, palette)
    write_image(out, dst, overwrite, photo.alpha, photo.converted_profile is not None, exif,
                photo.dpi)


class FolderInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a folder run: says which outputs were already written."""

    def __init__(self, written: list[Path], total: int, dst: Path) -> None:
        super().__init__(f"{len(written)} of {total} images were written under {dst} before the "
                         "interruption (the image in progress was not); run again with the "
                         "remaining images, or with --overwrite to redo all.")
        self.written = written


def colorize_folder(src: Path, dst: Path, colorizer: Colorizer, overwrite: bool = False,
                    progress: bool = True,
                    palette: torch.Tensor | None = None) -> tuple[int, list[str]]:
    """Every image under ``src`` into the same tree under ``dst``, steered by its NAME.hints.json
    and ``palette``; returns (written, a message per unreadable or oversized image skipped)."""
    pairs = mirror_images(src, dst)
    hints = folder_sidecars([inp for inp, _ in pairs], colorizer.supports_hints)  # checked now
    precheck_output(dst / "x", overwrite=True)  # a writable folder (or one that can be made)
    for _, out in pairs:  # refuse before doing any work, naming the first clash
        precheck_output(out, overwrite)
    written: list[Path] = []
    errors: list[str] = []
    try:
        for inp, out in tqdm(pairs, unit="image", disable=not progress, desc=src.name):
            try:
                colorize_image(inp, out, colorizer, overwrite, hints.get(inp), palette)
                written.append(out)
            except InputError as e:
                errors.append(str(e))
    except KeyboardInterrupt:
        raise FolderInterrupted(written, len(pairs), dst) from None
    except OutputPathError as e:  # a full disk: stop, and say what is done
        raise OutputPathError(f"{e} {len(written)} of {len(pairs)} images were written under "
                              f"{dst} before it.") from None
    return len(written), errors


__all__ = ["FolderInterrupted", "PhotoNoteWarning", "colorize_banded", "colorize_folder",
           "colorize_image", "colorize_photo", "image_format", "read_image", "read_photo",
           "set_max_pixels", "write_image"]
