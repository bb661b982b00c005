"""Any decoded PIL image -> 8-bit sRGB RGB, and in words (notes, without the file name) what
the conversion changed: 16/32-bit and float gray scaled to 8 bits (NaN/inf -> 0); alpha put on
white and returned aside (a fully opaque one dropped); an ICC profile other than sRGB converted
by LittleCMS, relative colorimetric; of several frames only the first read (:func:`file_notes`).
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # 16-bit / 32-bit gray
ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
FLATTENED = "transparency flattened onto white"
ORIENTATION = 0x0112  # EXIF tag


@dataclass
class Decoded:
    """An image as colorgan reads it: RGB (sRGB), its alpha if any, and what was changed."""

    rgb: Image.Image                       # mode "RGB", sRGB
    alpha: Image.Image | None = None       # mode "L", only when some pixel is not opaque
    notes: list[str] = field(default_factory=list)  # e.g. "3 NaN ... set to 0"
    converted_profile: str | None = None   # description of the ICC profile converted to sRGB


def _deep_to_l(img: Image.Image, notes: list[str]) -> Image.Image:
    """16-bit / 32-bit gray -> 8-bit L; non-finite float samples -> 0, counted."""
    arr = np.array(img, dtype=np.float64)  # (H, W), a copy
    bad = ~np.isfinite(arr)
    if bad.any():
        notes.append(f"{int(bad.sum())} NaN or infinite value(s) set to 0 (black)")
        arr[bad] = 0.0
    top_value = float(arr.max()) if arr.size else 0.0
    top = 65535.0 if img.mode.startswith("I;16") or top_value > 255 else 255.0
    if img.mode == "F":
        top = 1.0 if top_value <= 1.0 else 255.0
    return Image.fromarray(np.clip(arr / top * 255.0, 0, 255).round().astype(np.uint8), "L")


@functools.lru_cache(maxsize=1)
def srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def srgb_icc() -> bytes:
    """The sRGB ICC profile, to tag outputs whose input carried another profile."""
    return srgb_profile().tobytes()


@functools.lru_cache(maxsize=16)
def _profile(icc: bytes) -> tuple[ImageCms.ImageCmsProfile, str, str]:
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    desc = (ImageCms.getProfileDescription(src) or "").strip() or "unnamed"
    return src, desc, src.profile.xcolor_space.strip()


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(_profile(icc)[0], srgb_profile(), mode, "RGB",
                                   ImageCms.Intent.RELATIVE_COLORIMETRIC)


def _to_srgb(img: Image.Image, icc: bytes | None, out: Decoded) -> Image.Image:
    """L / RGB / CMYK with an embedded profile -> sRGB RGB (unchanged when it is sRGB)."""
    if not icc:
        return img
    try:
        _, desc, space = _profile(icc)
    except (ImageCms.PyCMSError, OSError, ValueError) as e:
        out.notes.append(f"its colour profile cannot be read ({e}); its values were read as sRGB")
        return img
    if "srgb" in desc.lower():
        return img
    fits = {"RGB": ("RGB",), "GRAY": ("L",), "CMYK": ("CMYK",)}.get(space, ())
    if img.mode not in fits:
        out.notes.append(f"its colour profile '{desc}' ({space}) does not fit its {img.mode} "
                         "pixels; they were read as sRGB")
        return img
    try:
        rgb = ImageCms.applyTransform(img, _transform(icc, img.mode))
    except ImageCms.PyCMSError as e:
        out.notes.append(f"its colour profile '{desc}' could not be applied ({e}); its values "
                         "were read as sRGB")
        return img
    out.notes.append(f"its colour profile '{desc}' was converted to sRGB")
    out.converted_profile = desc
    return rgb


def decode(img: Image.Image) -> Decoded:
    """Any PIL mode -> :class:`Decoded` (the module docstring lists each case)."""
    out = Decoded(rgb=img)
    icc = img.info.get("icc_profile")
    if img.mode in DEEP_MODES:
        img = _deep_to_l(img, out.notes)
    if img.mode == "1":
        img = img.convert("L")
    if img.mode == "P" or (img.mode in ("L", "RGB") and "transparency" in img.info):
        img = img.convert("RGBA" if img.mode != "L" else "LA")
    if img.mode in ("PA", "La", "RGBa"):
        img = img.convert("RGBA")
    if img.mode in ALPHA_MODES:
        alpha = img.getchannel("A")
        img = img.convert("L" if img.mode == "LA" else "RGB")
        if alpha.getextrema()[0] < 255:  # some pixel is not opaque
            out.alpha = alpha
    img = _to_srgb(img, icc, out)
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    if out.alpha is not None:  # on white, as a viewer without transparency shows it
        white = Image.new("RGB", rgb.size, (255, 255, 255))
        rgb = Image.composite(rgb, white, out.alpha)
    out.rgb = rgb
    return out


def frames_note(n_frames: int) -> str | None:
    """The note for an animated or multi-page file (None for one frame)."""
    if n_frames <= 1:
        return None
    return (f"it has {n_frames} frames (animated or multi-page); only the first was read "
            "(for an animation, convert it to a video, e.g. ffmpeg -i IN.gif IN.mp4, and "
            "colorize the video)")


def _depth(im: Image.Image) -> str | None:
    if im.mode.startswith("I;16"):
        return "16-bit"
    if im.mode in ("I", "F"):
        return "32-bit integer" if im.mode == "I" else "32-bit float"
    for tile in getattr(im, "tile", None) or ():  # 16-bit RGB(A) PNG/TIFF: PIL decodes 8 bits
        args = tile[3] if len(tile) > 3 else None
        raw = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw, str) and ";16" in raw:
            return "16-bit"
    return None


def file_notes(im: Image.Image) -> list[str]:
    """Notes on a file just opened (before decoding): its other frames, its bit depth."""
    depth = _depth(im)
    notes = [f"its {depth} samples were reduced to 8 bits (the output is 8-bit)"] if depth else []
    frames = frames_note(getattr(im, "n_frames", 1))
    return notes + ([frames] if frames else [])


def upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (cameras store portraits sideways plus this tag)."""
    if img.getexif().get(ORIENTATION, 1) in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


@dataclass
class Photo:
    """One decoded file: upright sRGB pixels, its alpha if any, and what the reading changed."""

    rgb: np.ndarray                 # uint8 (H, W, 3)
    alpha: np.ndarray | None        # uint8 (H, W), only when some pixel is not opaque
    notes: list[str]                # phrases, without the file name (see colorgan.data.decode)
    converted_profile: str | None   # the ICC profile converted to sRGB, if any
    exif: bytes | None = None       # its EXIF metadata (orientation applied), for the output
    dpi: tuple | None = None        # its resolution, for the output


def read_photo(path: str | Path) -> Photo:
    """Decode one image file at full resolution (upright, :func:`decode`), with its notes."""
    with Image.open(path) as im:
        first = file_notes(im)
        im = upright(im)
        d = decode(im)
        rgb = np.asarray(d.rgb, dtype=np.uint8)  # (H, W, 3), decoded while the file is open
        exif = im.getexif() if "exif" in im.info else {}  # (a TIFF's own tags are not EXIF)
        exif.pop(ORIENTATION, None)  # applied to the pixels
        dpi = im.info.get("dpi")
    alpha = None if d.alpha is None else np.asarray(d.alpha, dtype=np.uint8)
    return Photo(rgb, alpha, first + d.notes, d.converted_profile,
                 exif.tobytes() if exif else None, dpi)


__all__ = ["FLATTENED", "Decoded", "Photo", "decode", "file_notes", "frames_note", "read_photo",
           "srgb_icc", "srgb_profile", "upright"]
