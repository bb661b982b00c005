"""What an input path is (image, folder, video) and safe writing of outputs.

Every output is written to a hidden temporary file next to its target and renamed at the end,
so an interrupted run never leaves a half-written file at the target path.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class InputError(ValueError):
    """A bad input or output path: the message names it and says what to do."""


def input_kind(path: Path) -> str:
    """"video", "image" or "folder"; a clear error for anything else."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder.")
    if path.is_dir():
        return "folder"
    ext = path.suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in IMAGE_EXTS:
        return "image"
    raise InputError(f"{path}: unknown file type {ext!r}; colorize images "
                     f"({', '.join(sorted(IMAGE_EXTS))}), videos ({', '.join(sorted(VIDEO_EXTS))}) "
                     "or a folder of images.")


def check_output(target: Path, overwrite: bool) -> None:
    """Refuse to replace an existing output unless asked to."""
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists; pass --overwrite to replace it, or choose "
                         "another -o OUTPUT.")
    if not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)


def temp_path_for(target: Path) -> Path:
    """A hidden sibling that keeps the extension (so the format is still known)."""
    return target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")


@contextlib.contextmanager
def atomic_output(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto ``target``, on any error remove it.

    >>> with atomic_output("out.mp4") as tmp:
    ...     write_video(tmp)
    """
    target = Path(target)
    check_output(target, overwrite)
    tmp = temp_path_for(target)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written for {target}.")
        os.replace(tmp, target)
    except BaseException:  # KeyboardInterrupt included: never leave a partial file
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def mirror_images(src_dir: Path, dst_dir: Path) -> list[tuple[Path, Path]]:
    """(source, destination) for every image under ``src_dir``, the tree mirrored."""
    pairs = [(p, dst_dir / p.relative_to(src_dir)) for p in sorted(src_dir.rglob("*"))
             if p.is_file() and p.suffix.lower() in IMAGE_EXTS]
    if not pairs:
        raise InputError(f"{src_dir}: no images found (looked for {', '.join(sorted(IMAGE_EXTS))}).")
    return pairs


__all__ = [
    "IMAGE_EXTS",
    "VIDEO_EXTS",
    "InputError",
    "atomic_output",
    "check_output",
    "input_kind",
    "mirror_images",
    "temp_path_for",
]
