"""Image files for every file-backed dataset: find, decode to RGB, resize/crop, validate.

Bad files (zero-byte, non-image, corrupt, truncated) are found once at setup by
:func:`scan_images` (cached), reported in one warning and left out, as are black-and-white
photos (``data.skip_gray``).
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset
from tqdm import tqdm

from colorgan.data.decode import FLATTENED, Photo, decode, file_notes, read_photo, upright
from colorgan.media import IMAGE_EXTS, find_images
from colorgan.utils.atomic import write_text_atomic

MAX_NAMED = 10  # bad files named in one warning; the count covers the rest


class BadInputWarning(UserWarning):
    """A file was skipped because it cannot be read as an image (or a video ended early)."""


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit sRGB RGB (:func:`colorgan.data.decode.decode`)."""
    return decode(img).rgb


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode one image file at full resolution -> uint8 (H, W, 3), as :func:`read_photo`."""
    return read_photo(path).rgb


def load_rgb(path: str | Path, size: int | None) -> torch.Tensor:
    """Decode one image file -> uint8 (3, size, size): shorter side resized, centre crop
    (``size=None``: original resolution). JPEGs decode at reduced scale (PIL ``draft``)."""
    with Image.open(path) as im:
        if size is not None:
            im.draft("RGB", (size, size))
        return fit_rgb(upright(im), size)


def fit_rgb(img: Image.Image, size: int | None) -> torch.Tensor:
    """PIL image -> uint8 (3, size, size) RGB: shorter side resized, centre crop."""
    rgb = to_rgb(img)
    if size is not None and rgb.size != (size, size):
        rgb = ImageOps.fit(rgb, (size, size), Image.Resampling.BILINEAR)
    return hwc_to_chw(np.asarray(rgb, dtype=np.uint8))


def hwc_to_chw(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) array (or memory map) -> contiguous tensor (3, H, W); numpy copies
    (torch's strided uint8 copy is several times slower with more than one intra-op thread)."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(arr).transpose(2, 0, 1)))


# mean |RGB - its channel mean| below this (0-255 scale): a black-and-white photo stored as
# RGB (JPEG noise stays well under 1); a sepia or toned photo has colour and is kept
GRAY_CHROMA = 1.0
GRAY_REASON = "black-and-white"


def check_image(path: Path) -> tuple[str | None, bool]:
    """(None, is black-and-white) if ``path`` decodes completely; otherwise (why not, False)."""
    return _check(path)[:2]


def _check(path: Path) -> tuple[str | None, bool, list[str]]:
    """check_image plus what reading the file changes (colorgan.data.decode notes)."""
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)", False, []
        with Image.open(path) as im:
            first = file_notes(im)
            im.draft("RGB", (64, 64))  # JPEG: decode at 1/8 scale, still reads every byte
            im.load()
            d = decode(im)
            notes = first + d.notes + ([FLATTENED] if d.alpha is not None else [])
            if im.mode in ("1", "L", "LA", "I", "I;16", "F"):
                return None, True, notes
            rgb = np.asarray(d.rgb, dtype=np.float32)  # (H, W, 3)
        gray = bool(np.abs(rgb - rgb.mean(-1, keepdims=True)).mean() < GRAY_CHROMA)
        return None, gray, notes
    except Exception as e:  # noqa: BLE001 - PIL raises many types; all mean "skip it"
        return f"{type(e).__name__}: {e}", False, []


class _ScanCache:
    """{path: [size, mtime_ns, error, gray, notes]} in one JSON file under ``cache_dir`` (or none)."""

    def __init__(self, cache_dir: str | Path | None, key: str) -> None:
        self.file = None
        self.entries: dict[str, list] = {}
        if cache_dir is not None:
            digest = hashlib.sha1(key.encode()).hexdigest()[:16]
            self.file = Path(cache_dir) / f"scan-{digest}.json"
            try:
                self.entries = json.loads(self.file.read_text())
            except (OSError, ValueError):
                self.entries = {}
        self.dirty = False
        self.notes: dict[Path, list[str]] = {}  # files read with a change, for one warning

    def check(self, path: Path) -> tuple[str | None, bool]:
        st = path.stat()
        hit = self.entries.get(str(path))
        if hit is not None and len(hit) == 5 and hit[:2] == [st.st_size, st.st_mtime_ns]:
            err, gray, notes = hit[2:]
        else:
            err, gray, notes = _check(path)
            self.entries[str(path)] = [st.st_size, st.st_mtime_ns, err, gray, notes]
            self.dirty = True
        if notes:
            self.notes[path] = notes
        return err, gray

    def save(self) -> None:
        if self.file is None or not self.dirty:
            return
        write_text_atomic(self.file, json.dumps(self.entries))  # never a half-written cache


def _named(lines: Sequence[object]) -> str:
    """The first MAX_NAMED lines, indented, and how many more there are."""
    more = f"\n  ... and {len(lines) - MAX_NAMED} more" if len(lines) > MAX_NAMED else ""
    return "\n".join(f"  {x}" for x in lines[:MAX_NAMED]) + more


def report_bad(bad: Sequence[tuple[Path, str]], what: str) -> None:
    """One warning naming the unreadable files, one for the black-and-white photos left out."""
    gray = [p for p, why in bad if why == GRAY_REASON]
    bad = [f"{p}: {why}" for p, why in bad if why != GRAY_REASON]
    if bad:
        warnings.warn(f"Skipped {len(bad)} unreadable file(s) in {what}:\n{_named(bad)}",
                      BadInputWarning, stacklevel=3)
    if gray:
        warnings.warn(f"Left out {len(gray)} black-and-white photo(s) in {what}: they have no "
                      "colour to learn from or to score against (data.skip_gray=false keeps "
                      f"them):\n{_named(gray)}", BadInputWarning, stacklevel=3)


def scan_images(paths: Iterable[Path], limit: int | None = None, cache_dir: str | Path | None = None,
                what: str = "the dataset", threads: int | None = None, skip_gray: bool = False,
                ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Check files in order (a thread pool, only as many as still needed) until ``limit`` good
    ones are found -> (good, bad); with ``skip_gray`` gray photos go to ``bad`` as GRAY_REASON.
    Cached per ``what`` in ``cache_dir``; the caller reports ``bad`` (:func:`report_bad`)."""
    paths = list(paths)
    cache = _ScanCache(cache_dir, key=what)
    good: list[Path] = []
    bad: list[tuple[Path, str]] = []
    want = len(paths) if limit is None else min(int(limit), len(paths))
    bar = tqdm(total=want, desc=f"checking {what}", unit="img", leave=False,
               disable=want < 2000)  # progress only where a scan takes a while
    start = 0
    with ThreadPoolExecutor(threads or min(8, os.cpu_count() or 1)) as pool:
        while len(good) < want and start < len(paths):
            chunk = paths[start:start + max(want - len(good), 64)]
            start += len(chunk)
            for p, (err, gray) in zip(chunk, pool.map(cache.check, chunk)):
                if len(good) >= want:
                    break
                if err is None and gray and skip_gray:
                    bad.append((p, GRAY_REASON))
                elif err is None:
                    good.append(p)
                    bar.update(1)
                else:
                    bad.append((p, err))
    bar.close()
    cache.save()
    report_notes({p: cache.notes[p] for p in good if p in cache.notes}, what)
    return good, bad


def report_notes(notes: dict[Path, list[str]], what: str) -> None:
    """One warning per scan naming the files read with a change (the loaders are then quiet)."""
    if notes:
        named = _named([f"{p}: {'; '.join(n)}" for p, n in notes.items()])
        warnings.warn(f"{len(notes)} file(s) in {what} are read with a change:\n{named}",
                      BadInputWarning, stacklevel=3)


class ImageFiles(Dataset):
    """A list of checked image files -> ``{"rgb": uint8 (3, size, size), "key": file name}``; a
    file that fails anyway is named in a warning and the next file is returned in its place."""

    def __init__(self, files: Sequence[Path], image_size: int | None,
                 labels: Sequence[int] | None = None, classes: Sequence[str] | None = None) -> None:
        if not files:
            raise ValueError("ImageFiles needs at least one file.")
        self.files = [Path(f) for f in files]
        self.size = None if image_size is None else int(image_size)
        self.labels = list(labels) if labels is not None else None
        self.classes = list(classes) if classes is not None else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        for k in range(min(len(self.files), 8)):
            path = self.files[(i + k) % len(self.files)]
            try:
                item = {"rgb": load_rgb(path, self.size), "key": path.name}
                if self.labels is not None:  # class-folder data: -1 = no class
                    label = self.labels[(i + k) % len(self.files)]
                    item["label"] = -1 if label is None else int(label)
                return item
            except Exception as e:  # noqa: BLE001 - keep the run alive, never silently
                warnings.warn(f"Could not decode {path} ({type(e).__name__}: {e}); using the "
                              f"next file of the list for sample {i}.", BadInputWarning, stacklevel=2)
        raise RuntimeError(f"8 files in a row from {self.files[i].parent} could not be decoded; "
                           "check the disk or the data folder.")


__all__ = [
    "IMAGE_EXTS",
    "BadInputWarning",
    "ImageFiles",
    "GRAY_CHROMA",
    "GRAY_REASON",
    "check_image",
    "find_images",
    "fit_rgb",
    "hwc_to_chw",
    "load_rgb",
    "Photo",
    "read_photo",
    "read_rgb",
    "report_bad",
    "report_notes",
    "scan_images",
    "to_rgb",
    "upright",
]
