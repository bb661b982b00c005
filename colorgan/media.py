"""What a media path is: the one list of image and video extensions colorgan reads, and
errors for inputs that are none of them. Used by the datasets and by ``colorgan colorize``."""
from __future__ import annotations

from pathlib import Path

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ogv", ".ts",
              ".m2ts", ".mts")


class InputError(ValueError):
    """A bad input or output path: the message names it and says what to do."""


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTS


def input_kind(path: Path) -> str:
    """"video", "image" or "folder"; a clear error for anything else."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder.")
    if path.is_dir():
        return "folder"
    if is_video(path):
        return "video"
    if is_image(path):
        return "image"
    raise InputError(f"{path}: unknown file type {path.suffix.lower()!r}; colorize images "
                     f"({', '.join(IMAGE_EXTS)}), videos ({', '.join(VIDEO_EXTS)}) "
                     "or a folder of images.")


def find_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Every image file under ``root`` (by extension, case-insensitive), sorted."""
    root = Path(root)
    pattern = root.rglob("*") if recursive else root.glob("*")
    return sorted(p for p in pattern if is_image(p) and p.is_file())


def find_videos(root: str | Path) -> list[Path]:
    """Every video file under ``root`` (by extension, case-insensitive), sorted."""
    return sorted(p for p in Path(root).rglob("*") if is_video(p) and p.is_file())


def mirror_images(src_dir: Path, dst_dir: Path) -> list[tuple[Path, Path]]:
    """(source, destination) for every image under ``src_dir``, the tree mirrored."""
    pairs = [(p, dst_dir / p.relative_to(src_dir)) for p in find_images(src_dir)]
    if not pairs:
        raise InputError(f"{src_dir}: no images found (looked for {', '.join(IMAGE_EXTS)}).")
    return pairs


__all__ = ["IMAGE_EXTS", "VIDEO_EXTS", "InputError", "find_images", "find_videos", "input_kind",
           "is_image", "is_video", "mirror_images"]
