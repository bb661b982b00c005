"""User hints: colour points the user places on a photo, and a reference photo whose palette
steers the whole image (Zhang, Zhu et al. 2017, arXiv:1705.02999: local points + a global hint).

A hints file is a JSON list of points, each in the input photo's own (upright) pixel grid::

    [{"x": 120, "y": 48, "color": "#d02020"},                 # pixels: x right, y down, 0-based
     {"fx": 0.5, "fy": 0.9, "color": "#2050c0", "radius": 12}] # fractions of the size; radius px

``x`` in 0..width-1 and ``y`` in 0..height-1 (pixel centres; decimals allowed); ``fx``, ``fy`` in
0..1 (0 = the first pixel's centre, 1 = the last's); ``radius`` (pixels of the photo, >= 0)
colours a disc, 0 (the default) one pixel of the generator's grid. Only a colour's ab is used:
the output keeps each pixel's own lightness. Later points overwrite earlier ones where they
overlap. Errors are :class:`HintError` naming the file and the point (counted from 1).
"""
from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from colorgan.color import AB_SCALE, rgb_to_lab_norm, uint8_to_float
from colorgan.media import InputError

MAX_POINTS = 1000  # points in one hints file (a hand-placed set is tens)
MAX_FILE_BYTES = 1 << 20  # a hints file larger than this is not a hints file
GRAY_CHROMA = 2.0  # a reference whose mean chroma (ab units) is below this has no colour
REFERENCE_SIDE = 256  # the reference's palette is taken from a copy no longer than this per side
FIELDS = ("x", "y", "fx", "fy", "color", "radius")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
SIDECAR = ".hints.json"  # photo.jpg's hints beside it: photo.hints.json


class HintError(InputError):  # a ValueError, as every input error
    """A hints file or reference photo that cannot be used: the message names it and the point."""


@dataclass(frozen=True)
class Point:
    """One user hint, in the input photo's own pixel grid."""

    x: float  # 0-based pixel position (x to the right, y down) of the full-size photo
    y: float
    rgb: tuple[int, int, int]  # from "#rrggbb"; only its ab is used (at the pixel's own lightness)
    radius: float = 0.0  # pixels of the full-size photo; 0 = one generator pixel


def _number(entry: dict, key: str, where: str) -> float:
    v = entry[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise HintError(f"{where}: \"{key}\": {json.dumps(v)} is not a number.")
    return float(v)


def check_entry(entry: object, where: str) -> dict:
    """One JSON entry -> {"pos": ("x"|"fx", a, b), "rgb": (r, g, b), "radius": r}, every field
    checked except the bounds (they need the photo's size)."""
    if not isinstance(entry, dict):
        raise HintError(f"{where}: {json.dumps(entry)[:60]} is not an object like "
                        "{\"x\": 10, \"y\": 20, \"color\": \"#ff0000\"}.")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise HintError(f"{where}: unknown field(s) {unknown}; a point has x, y (pixels) or "
                        "fx, fy (fractions), color and an optional radius.")
    pixels, fractions = {"x", "y"} & set(entry), {"fx", "fy"} & set(entry)
    if pixels and fractions or len(pixels | fractions) != 2:
        raise HintError(f"{where}: give its position as \"x\" and \"y\" (pixels) or as \"fx\" "
                        f"and \"fy\" (fractions of the size), not {sorted(pixels | fractions)}.")
    kind = "x" if pixels else "fx"
    a, b = _number(entry, kind, where), _number(entry, kind.replace("x", "y"), where)
    if "color" not in entry:
        raise HintError(f"{where}: \"color\" is missing (e.g. \"color\": \"#d02020\").")
    color = entry["color"]
    if not isinstance(color, str) or not COLOR.fullmatch(color):
        raise HintError(f"{where}: \"color\": {json.dumps(color)} is not #rrggbb.")
    radius = _number(entry, "radius", where) if "radius" in entry else 0.0
    if radius < 0:
        raise HintError(f"{where}: \"radius\": {radius:g} is negative (pixels, 0 = one point).")
    rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return {"pos": (kind, a, b), "rgb": rgb, "radius": radius}


def check_hints(data: object, source: str) -> list[dict]:
    """The loaded JSON -> its checked entries (see :func:`check_entry`); bounds not checked."""
    if not isinstance(data, list):
        raise HintError(f"{source}: is not a list of points: the file must hold [{{\"x\": ..., "
                        "\"y\": ..., \"color\": \"#rrggbb\"}, ...] (see docs/hints.md).")
    if len(data) > MAX_POINTS:
        raise HintError(f"{source}: {len(data)} points; at most {MAX_POINTS} are read.")
    return [check_entry(e, f"{source}, point {i}") for i, e in enumerate(data, 1)]


def _place(entry: dict, where: str, width: int, height: int) -> Point:
    kind, a, b = entry["pos"]
    if kind == "fx":
        if not (0 <= a <= 1 and 0 <= b <= 1):
            raise HintError(f"{where}: \"fx\": {a:g}, \"fy\": {b:g} is outside the image "
                            "(fractions run from 0 to 1).")
        a, b = a * (width - 1), b * (height - 1)
    elif not (0 <= a <= width - 1 and 0 <= b <= height - 1):
        raise HintError(f"{where}: \"x\": {a:g}, \"y\": {b:g} is outside the {width} x {height} "
                        f"image (x runs 0..{width - 1}, y 0..{height - 1}).")
    return Point(a, b, entry["rgb"], entry["radius"])


def parse_hints(data: object, source: str, width: int, height: int) -> list[Point]:
    """The loaded JSON of a hints file -> points in the ``width`` x ``height`` photo's pixels."""
    entries = check_hints(data, source)
    return [_place(e, f"{source}, point {i}", width, height) for i, e in enumerate(entries, 1)]


def read_hints_json(path: str | Path) -> object:
    """A hints file's JSON; unreadable, oversized or not-JSON files name the file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise HintError(f"{path}: {path.stat().st_size:,} bytes is too large for a hints "
                            f"file (at most {MAX_FILE_BYTES:,}; {MAX_POINTS} points).")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise HintError(f"{path}: cannot be read ({why}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise HintError(f"{path}: is not JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
                        "see docs/hints.md for the format.") from None


def load_hints(path: str | Path, width: int, height: int) -> list[Point]:
    """A hints file -> its points in the ``width`` x ``height`` photo's pixels."""
    return parse_hints(read_hints_json(path), str(path), width, height)


def sidecar(photo: Path) -> Path:
    """The hints file beside a photo: ``dir/NAME.hints.json`` for ``dir/NAME.jpg``."""
    return photo.with_name(photo.stem + SIDECAR)


def folder_sidecars(photos: list[Path], supports_hints: bool) -> dict[Path, Path]:
    """{photo: its sidecar hints file} for the photos that have one, every file checked (all
    but the bounds, which need the photo) before any work. A checkpoint without hints ignores
    them, with one warning."""
    found = {p: sidecar(p) for p in photos if sidecar(p).is_file()}
    if found and not supports_hints:
        first = next(iter(found.values()))
        warnings.warn(f"{len(found)} hints file(s) beside the photos ({first}"
                      f"{', ...' if len(found) > 1 else ''}) are ignored: this checkpoint was "
                      "trained without hints (model.hints.enabled=false).", stacklevel=2)
        return {}
    for path in found.values():
        check_hints(read_hints_json(path), str(path))
    return found


def hints_json(points: list[Point]) -> list[dict]:
    """Points -> the JSON list a hints file holds (pixels; what the web page downloads)."""
    out = []
    for p in points:
        entry = {"x": p.x, "y": p.y, "color": "#{:02x}{:02x}{:02x}".format(*p.rgb)}
        out.append({**entry, "radius": p.radius} if p.radius else entry)
    return out


def hint_planes(points: list[Point], full: tuple[int, int], net: tuple[int, int],
                batch: int = 1, device: torch.device | str = "cpu") -> torch.Tensor:
    """Points on a ``full`` (H, W) photo -> hint planes (B, 3, h, w) at the generator's ``net``
    (h, w) size: normalised ab and the 0/1 mask (:func:`colorgan.hints.encode.pack`).

    A point covers the generator pixel it falls in; a radius covers the disc scaled to the
    generator's grid (an ellipse when the aspect ratio was not kept), at least that pixel.
    """
    (H, W), (h, w) = full, net
    planes = torch.zeros(1, 3, h, w)
    if points:
        rgb = torch.tensor([p.rgb for p in points], dtype=torch.float32).T  # (3, N)
        _, ab = rgb_to_lab_norm(rgb[None, :, None, :] / 255.0)  # (1, 2, 1, N)
        sy, sx = h / H, w / W
        for n, p in enumerate(points):
            u, v = (p.x + 0.5) * sx - 0.5, (p.y + 0.5) * sy - 0.5  # centres: align_corners=False
            ry, rx = p.radius * sy, p.radius * sx
            y0, y1 = max(0, math.floor(v - ry)), min(h - 1, math.ceil(v + ry))
            x0, x1 = max(0, math.floor(u - rx)), min(w - 1, math.ceil(u + rx))
            yy = torch.arange(y0, y1 + 1, dtype=torch.float32)[:, None]
            xx = torch.arange(x0, x1 + 1, dtype=torch.float32)[None]
            disc = ((yy - v) / max(ry, 1e-6)) ** 2 + ((xx - u) / max(rx, 1e-6)) ** 2 <= 1.0
            iy, ix = min(h - 1, max(0, round(v))) - y0, min(w - 1, max(0, round(u))) - x0
            disc[iy, ix] = True  # the pixel the point falls in, whatever the radius
            box = planes[0, :, y0:y1 + 1, x0:x1 + 1]  # (3, dy, dx) view
            box[:2, disc] = ab[0, :, 0, n:n + 1]
            box[2, disc] = 1.0
    return planes.expand(batch, -1, -1, -1).to(device)


def pack_hints(g_in: torch.Tensor, planes: torch.Tensor | None, global_hint: torch.Tensor | None,
               enabled: bool) -> tuple[torch.Tensor, bool]:
    """netG's input (B, C, s, s) -> (with the hint channels (B, C + 3 + D, s, s), whether any
    hint steers it). A hint checkpoint always gets the packed input: no hints = automatic."""
    from colorgan.hints.encode import pack

    if not enabled:
        raise HintError("this checkpoint was trained without hints (model.hints.enabled=false): "
                        "it cannot take colour points or a reference; use a checkpoint trained "
                        "with model.hints.enabled=true.")
    b = g_in.shape[0]
    if global_hint is not None and global_hint.shape[0] != b:
        global_hint = global_hint.expand(b, -1)  # (1, D): one reference for every frame
    steered = global_hint is not None or planes is not None and bool(planes[:, 2].any())
    return pack(g_in, planes, global_hint), steered


def reference_palette(rgb: torch.Tensor, source: str) -> torch.Tensor:
    """A reference photo (3, H, W) float in [0, 1] (or uint8) -> its global hint (1, D)
    (:func:`colorgan.hints.encode.palette`); a black-and-white one is refused naming ``source``."""
    from colorgan.hints.encode import palette

    img = uint8_to_float(rgb)[None]  # (1, 3, H, W)
    scale = min(1.0, REFERENCE_SIDE / max(img.shape[-2:]))
    if scale < 1.0:  # a histogram: a small copy has the same palette
        size = tuple(max(1, round(s * scale)) for s in img.shape[-2:])
        img = F.interpolate(img, size=size, mode="bilinear", antialias=True,
                            align_corners=False).clamp(0, 1)
    _, ab = rgb_to_lab_norm(img)  # (1, 2, h, w)
    chroma = float(ab.norm(dim=1).mean()) * AB_SCALE
    if chroma < GRAY_CHROMA:
        raise HintError(f"{source}: is black and white (mean chroma {chroma:.1f} < "
                        f"{GRAY_CHROMA:g}), so it has no palette to give; use a colour photo.")
    return palette(ab)


__all__ = ["GRAY_CHROMA", "MAX_POINTS", "HintError", "Point", "check_hints", "folder_sidecars",
           "hint_planes", "hints_json", "load_hints", "pack_hints", "parse_hints", "read_hints_json",
           "reference_palette", "sidecar"]
