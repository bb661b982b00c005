"""The one way colorgan writes an output file: to a hidden temporary sibling, renamed at the end,
so no half-written file is ever at the target; an existing target is replaced only when asked.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The target exists and ``overwrite`` was not given: the message says what to do."""


class OutputPathError(OSError):
    """The target cannot be written: the message names the target and what to do."""


def _nearest_existing(path: Path) -> Path:
    while path != path.parent:
        with contextlib.suppress(OSError):  # a name too long is not there either
            if path.exists():
                return path
        path = path.parent
    return path


def precheck_output(target: str | Path, overwrite: bool) -> None:
    """Everything :func:`check_output` checks, creating nothing: call it before the work."""
    target = Path(target)
    try:
        limit = os.pathconf(_nearest_existing(target.parent), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(target.name.encode()) > limit:
        raise OutputPathError(f"cannot write {target}: its name is {len(target.name.encode())} "
                              f"bytes long and the disk allows {limit}; choose a shorter name.")
    if target.is_dir():
        raise OutputPathError(f"{target} is a folder; give a file name (e.g. "
                              f"{target / ('NAME' + (target.suffix or '.png'))}), or move the "
                              "folder away.")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass --overwrite to replace it, or "
                                "choose another -o OUTPUT.")
    folder = _nearest_existing(target.parent)
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {target}: {folder} is a file, not a folder; "
                              "choose another output path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {target}: the folder {folder} is not writable "
                              "(permission denied); choose another output path.")


def check_output(target: str | Path, overwrite: bool) -> None:
    """:func:`precheck_output`, then create the parent folder."""
    target = Path(target)
    precheck_output(target, overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputPathError(f"cannot create the folder {target.parent} for {target} "
                              f"({e.strerror}); choose another output path.") from None


# errors of writing, whatever file object raised them (a full disk has no file name)
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.ENAMETOOLONG}
ADVICE = {errno.ENOSPC: "free some disk space or write to another disk",
          errno.EDQUOT: "free some space within your disk quota or write to another disk",
          errno.EROFS: "the disk is read-only: write to another one",
          errno.ENAMETOOLONG: "choose a shorter output name"}


def _write_error(e: OSError, target: Path, tmp: Path) -> OSError:
    """An OSError of writing ``tmp`` -> one naming ``target`` and what to do; others as they are."""
    if isinstance(e, OutputPathError) or not (
            e.errno in WRITE_ERRNOS or str(tmp) in (str(e.filename), str(e.filename2))):
        return e
    kept = " (the existing file was kept)" if target.exists() else ""
    what = ADVICE.get(e.errno, "check the disk and the folder, or choose another output path")
    err = OutputPathError(f"cannot write {target}: {e.strerror or e}; nothing was written"
                          f"{kept}. {what[0].upper()}{what[1:]}, then run again.")
    err.errno = e.errno
    return err


MAX_STEM = 40  # characters of the target's name kept in its temporary name


def _temp_stem(target: Path) -> str:
    """The target's stem, or (when long) its start plus a digest of the whole name."""
    if len(target.stem.encode()) <= MAX_STEM:
        return target.stem
    digest = hashlib.sha1(target.name.encode()).hexdigest()[:8]
    return f"{target.stem[:MAX_STEM // 2]}~{digest}"


def temp_path_for(target: str | Path, pid: int | None = None) -> Path:
    """A hidden sibling ``.STEM.partial-PID.ext`` (the format still known from its extension)."""
    target = Path(target)
    pid = os.getpid() if pid is None else pid
    return target.with_name(f".{_temp_stem(target)}.partial-{pid}{target.suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        pass
    return True


def clean_stale_partials(target: str | Path) -> list[Path]:
    """Remove ``target``'s temporary files (in its existing folder) left by runs now gone."""
    target = Path(target)
    pattern = re.compile(re.escape(f".{_temp_stem(target)}.partial-") + r"(\d+)"
                         + re.escape(target.suffix) + "$")
    removed = []
    for p in target.parent.iterdir():
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    if removed:
        warnings.warn(f"removed {len(removed)} partial file(s) of {target} left by an "
                      f"interrupted run: {', '.join(p.name for p in removed)}", stacklevel=3)
    return removed


@contextlib.contextmanager
def atomic_output(target: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto ``target``, on any error remove it."""
    target = Path(target)
    check_output(target, overwrite)
    clean_stale_partials(target)
    tmp = temp_path_for(target)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written for {target}.")
        os.replace(tmp, target)
    except BaseException as e:  # KeyboardInterrupt included: never leave a partial file
        with contextlib.suppress(OSError):
            tmp.unlink()
        err = _write_error(e, target, tmp) if isinstance(e, OSError) else e
        if err is e:
            raise
        raise err from None  # a full disk, an I/O error: name the target, not the temporary file


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(text)


__all__ = ["OutputExistsError", "OutputPathError", "atomic_output", "check_output",
           "precheck_output", "clean_stale_partials",
           "temp_path_for", "write_text_atomic"]
