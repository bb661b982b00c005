"""The datamodule of image files on disk: a subclass lists its files per split (seeded order);
this applies the caps, checks each file once and builds :class:`ImageFiles` datasets.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from colorgan.data.base import ColorDataModule
from colorgan.data.images import GRAY_REASON, ImageFiles, report_bad, scan_images
from colorgan.data.splits import cap

SPLITS = ("train", "val", "test")


def require_dir(root: str | Path | None, option: str = "data.root", hint: str = "") -> Path:
    """``root`` as a Path, or a FileNotFoundError that names the option to set."""
    if root is None or str(root) in ("", "???"):
        raise FileNotFoundError(f"{option} is not set. Set {option}=<folder>{hint}.")
    path = Path(str(root)).expanduser()
    if not path.is_dir():
        where = "is not a folder" if path.exists() else "does not exist"
        raise FileNotFoundError(f"{option}={path} {where} (resolved from {Path.cwd()}). "
                                f"Set {option}=<folder>{hint}.")
    return path


def torchvision_dataset(make: Callable[[bool], Any], root: str | Path | None, download: bool,
                        name: str, hint: str) -> Any:
    """``make(download)`` -> a torchvision dataset, downloaded only when missing and asked for."""
    if not download or root is None or str(root) in ("", "???"):
        require_dir(root, hint=hint)  # unset (or, without download, missing): named
    try:
        return make(False)
    except (RuntimeError, FileNotFoundError) as e:  # torchvision: not found or corrupted
        if not download:
            raise FileNotFoundError(f"data.root={root} holds no {name} ({e}). "
                                    f"Set data.root to a folder{hint}.") from None
    Path(str(root)).expanduser().mkdir(parents=True, exist_ok=True)
    try:
        return make(True)
    except (RuntimeError, OSError) as e:  # no network, disk full, bad checksum
        raise FileNotFoundError(f"Could not download {name} into data.root={root} ({e}). "
                                "Check the network and the free disk space, or set "
                                "data.root to a local copy.") from None


class FileDataModule(ColorDataModule):
    """Base for file-backed datasets; subclasses implement :meth:`list_files`."""

    layout_hint = ""  # said in errors: what the folder should contain

    def __init__(self, root: str | None = None, max_train: int | None = None,
                 max_val: int | None = None, max_test: int | None = None, split_seed: int = 0,
                 check_files: bool = True, cache_dir: str | None = None, skip_gray: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root
        self.skip_gray = bool(skip_gray)  # found by the file check: needs check_files
        self.caps = {"train": max_train, "val": max_val, "test": max_test}
        self.split_seed = int(split_seed)
        self.check_files = bool(check_files)
        self.cache_dir = cache_dir
        self.classes: list[str] | None = None
        self.skipped: list[tuple[Path, str]] = []
        self.test_only = False  # True: every image is the test set (evaluation on any folder)

    def list_files(self, root: Path) -> dict[str, list[Path]]:
        """{"train": [...], "val": [...], "test": [...]} in a seeded order (test may be empty)."""
        raise NotImplementedError

    def label_of(self, path: Path) -> int | None:
        """Class index of a file (class-per-folder datasets), None otherwise."""
        if self.classes is None:
            return None
        return self.classes.index(path.parent.name) if path.parent.name in self.classes else None

    def check_labels(self, train: list[Path], root: Path) -> None:
        """Classes no training file is labelled with teach nothing: said once, classes dropped."""
        if self.classes and train and all(self.label_of(f) is None for f in train):
            warnings.warn(
                f"data.root={root}: {type(self).__name__} names {len(self.classes)} classes, but "
                f"none of its {len(train)} training files has a class label; the data is used "
                "without classes (model.class_guidance needs labelled training files: use a "
                "labelled split or a class-folder dataset).", stacklevel=2)
            self.classes = None

    def setup(self, stage: str | None = None) -> None:
        if self.test_only and stage in ("fit", "validate"):
            raise ValueError(f"data.test_fraction=1.0 makes every image of data.root={self.root} "
                             "the test set, for eval.py; to train or validate, set "
                             "data.test_fraction below 1 (e.g. 0.1).")
        if self.data_train is not None or self.data_test is not None:
            return  # Lightning calls setup once per stage; the split is fixed
        root = require_dir(self.root, hint=self.layout_hint)
        pools = self.list_files(root)
        chosen: dict[str, list[Path]] = {}
        self.skipped = []
        for split in SPLITS:
            files = pools.get(split, [])
            if self.check_files:
                good, bad = scan_images(files, self.caps[split], self.cache_dir, what=str(root),
                                        skip_gray=self.skip_gray)
                self.skipped += bad
            else:
                good = cap(files, self.caps[split])
            chosen[split] = good
        report_bad(self.skipped, f"data.root={root}")
        self.check_labels(chosen["train"], root)
        if self.test_only:
            return self._set_splits(chosen, root)
        if not chosen["train"]:
            n = sum(len(v) for v in pools.values())
            gray = sum(why == GRAY_REASON for _, why in self.skipped)
            why = (f"{gray} of its {n} image file(s) are black-and-white, left out by "
                   "data.skip_gray (set data.skip_gray=false to use them), and "
                   f"{n - gray} could not be read" if gray else
                   f"none of its {n} image file(s) could be read" if n else
                   "no image files (.jpg .jpeg .png .webp .bmp .tif .tiff) were found")
            raise ValueError(f"data.root={root} has no usable training image: {why}. "
                             f"Point data.root at a folder of images{self.layout_hint}.")
        if not chosen["val"]:
            raise ValueError(f"data.root={root}: the validation split is empty "
                             f"({sum(len(v) for v in chosen.values())} usable images); add images "
                             "or raise the validation fraction/size (data.max_val=null).")
        self._set_splits(chosen, root)

    def _set_splits(self, chosen: dict[str, list[Path]], root: Path) -> None:
        if not any(chosen.values()):
            raise ValueError(f"data.root={root} has no usable image; point data.root at a "
                             f"folder of images{self.layout_hint}.")
        labels = lambda fs: [self.label_of(f) for f in fs] if self.classes else None  # None: unlabelled
        make = lambda fs, size=self.image_size: (  # noqa: E731
            ImageFiles(fs, size, labels(fs), self.classes) if fs else None)
        # training files at the wide crops' size (colorgan/data/aspect.py), the rest at image_size
        self.data_train = make(chosen["train"], self.train_load_size)
        self.data_val, self.data_test = make(chosen["val"]), make(chosen["test"])


__all__ = ["SPLITS", "FileDataModule", "require_dir", "torchvision_dataset"]
