"""What a media path is: the one list of image and video extensions colorgan reads, and
errors for inputs that are none of them. Used by the datasets and by ``colorgan colorize``."""
from __future__ import annotations

from pathlib import Path

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ogv", ".ts",
              ".m2ts", ".mts")


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
                     f"({', '.join(IMAGE_EXTS)}), videos ({', '.join(VIDEO_EXTS)}) "
                     "or a folder of images.")


def find_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Every image file under ``root`` (by extension, case-insensitive), sorted."""
    root = Path(root)
    pattern = root.rglob("*") if recursive else root.glob("*")
    return sorted(p for p in pattern if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def find_videos(root: str | Path) -> list[Path]:
    """Every video file under ``root`` (by extension, case-insensitive), sorted."""
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in VIDEO_EXTS and p.is_file())


def mirror_images(src_dir: Path, dst_dir: Path) -> list[tuple[Path, Path]]:
    """(source, destination) for every image under ``src_dir``, the tree mirrored. An output
    folder inside the input folder is not walked (a second run would colorize its own
    outputs); the input folder itself as output, or a file name, is refused."""
    src_r, dst_r = src_dir.resolve(), dst_dir.resolve()
    if src_r == dst_r:
        raise InputError(f"-o {dst_dir} is the input folder: the outputs would replace the "
                         "photos; choose another output folder.")
    if dst_r.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS and not dst_r.is_dir():
        raise InputError(f"-o {dst_dir}: a folder of photos needs an output folder, not a "
                         f"file name; e.g. -o {dst_dir.with_suffix('')}_color")
    pairs = [(p, dst_dir / p.relative_to(src_dir)) for p in find_images(src_dir)
             if not p.resolve().is_relative_to(dst_r)]  # not the outputs of an earlier run
    if not pairs:
        inside = f"; the output folder {dst_dir} is not read" if dst_r.is_relative_to(src_r) else ""
        raise InputError(f"{src_dir}: no images found (looked for {', '.join(IMAGE_EXTS)}"
                         f"{inside}).")
    return pairs


__all__ = ["IMAGE_EXTS", "VIDEO_EXTS", "InputError", "find_images", "find_videos", "input_kind",
           "mirror_images"]
