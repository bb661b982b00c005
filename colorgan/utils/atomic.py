"""The one way colorgan writes an output file: to a hidden temporary sibling, renamed at the end.

An interrupted or failed write never leaves a half-written file at the target path, and an
existing target is replaced only when asked (``overwrite=True``).

>>> with atomic_output("out.mp4") as tmp:   # tmp keeps the extension, so formats are known
...     write_video(tmp)
>>> write_text_atomic("metrics.json", text)
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The target exists and ``overwrite`` was not given: the message says what to do."""


def check_output(target: str | Path, overwrite: bool) -> None:
    """Refuse to replace an existing output unless asked to; create the parent folder."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass --overwrite to replace it, or "
                                "choose another -o OUTPUT.")
    target.parent.mkdir(parents=True, exist_ok=True)


def temp_path_for(target: str | Path) -> Path:
    """A hidden sibling that keeps the extension (so the format is still known)."""
    target = Path(target)
    return target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")


@contextlib.contextmanager
def atomic_output(target: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto ``target``, on any error remove it."""
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


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(text)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_output(target) as tmp:
        tmp.write_bytes(data)


__all__ = ["OutputExistsError", "atomic_output", "check_output", "temp_path_for",
           "write_bytes_atomic", "write_text_atomic"]
