"""Read a ``.ckpt`` file, or say in one line what the file is instead: missing, a folder, empty,
text, truncated, a zip of something else, Python objects that are not weights; every message
starts with ``option``, how the user gave the file.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import torch

HINT = "Pass the .ckpt written by training, e.g. logs/train/runs/<run>/checkpoints/last.ckpt."


def _given(path: Path, option: str) -> str:
    return f"{option} {path}" if option.startswith("-") else f"{option}={path}"


def checkpoint_problem(path: str | Path, option: str = "--ckpt") -> str | None:
    """What keeps ``path`` from being a PyTorch checkpoint file, from its bytes alone (no
    unpickling), as a message naming ``option``; None when it looks like one."""
    path = Path(path)
    given = _given(path, option)
    if not path.exists():
        missing = ": no such file" if option.startswith("-") else " does not exist"
        return f"{given}{missing} (resolved from {Path.cwd()}). {HINT}"
    bad = f"{given} is not a readable PyTorch checkpoint:"
    if path.is_dir():
        found = sorted(path.rglob("*.ckpt"))[:3]
        inside = f" (inside it: {', '.join(str(p) for p in found)})" if found else ""
        return f"{bad} it is a folder{inside}. {HINT}"
    size = path.stat().st_size
    if size == 0:
        return f"{bad} it is empty (0 bytes; was its write interrupted?). {HINT}"
    with open(path, "rb") as f:
        head = f.read(512)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if not any(n.endswith("data.pkl") for n in z.namelist()):
                return f"{bad} it is a zip file of something else (no data.pkl inside). {HINT}"
        return None
    if head.startswith(b"PK\x03\x04"):
        return (f"{given} is not a complete checkpoint (truncated: its zip directory is "
                f"missing, {size} bytes). Use another checkpoint of the run, e.g. the best one "
                "next to last.ckpt.")
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return None  # a pickle: PyTorch's legacy (pre-1.6) format
    if _is_text(head):
        return f"{bad} it is a text file. {HINT}"
    return f"{bad} its content is not a checkpoint's ({size} bytes, not a zip archive). {HINT}"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in head


def one_line(e: BaseException) -> str:
    """``Type: first line`` of an error, or of the error behind it (Hydra's instantiation)."""
    cause = e.__cause__ if e.__cause__ is not None else e
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


def read_checkpoint(path: str | Path, option: str = "--ckpt",
                    error: type[Exception] = ValueError) -> dict:
    """``torch.load`` of ``path`` (CPU, weights only); any other file raises ``error``, naming it."""
    problem = checkpoint_problem(path, option)
    given = _given(Path(path), option)
    if problem is not None:
        raise error(problem)
    try:
        # memory-mapped where the format allows (a zip): a large checkpoint is not read whole
        ckpt = torch.load(path, map_location="cpu", weights_only=True,
                          mmap=zipfile.is_zipfile(path))
    except Exception as e:  # noqa: BLE001 - any unpickling/zip error means "not a checkpoint"
        if "weights only" in str(e).lower() or "weights_only" in str(e):
            raise error(f"{given} holds Python objects other than weights and numbers, refused "
                        f"for safety (loading them could run code). {HINT}") from None
        raise error(f"{given} is not a readable PyTorch checkpoint ({one_line(e)}). "
                    f"{HINT}") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        what = type(ckpt).__name__ if not isinstance(ckpt, dict) else \
            f"a dict of {', '.join(map(str, list(ckpt)[:4])) or 'nothing'}"
        raise error(f"{given} is a PyTorch file but not a training checkpoint (it holds {what}, "
                    f"no state_dict). {HINT}")
    return ckpt


__all__ = ["HINT", "checkpoint_problem", "one_line", "read_checkpoint"]
