"""Image folders: ``data=folder`` (any tree of images) and ``data=landscapes`` (class per folder).

Both shuffle the file list with ``split_seed`` and cut it into train/val/test, so the split is
the same on every run and machine. ``data.pairs=true`` (folder): each photo also comes with a
simulated previous frame (:mod:`colorgan.data.motion`), for film models
(``model=unet_gan_dependent``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from colorgan.color import float_to_uint8, uint8_to_float
from colorgan.data.files import FileDataModule
from colorgan.data.images import find_images
from colorgan.data.motion import simulated_pairs
from colorgan.data.splits import seeded_shuffle, split_counts, split_list


def class_folders(root: Path) -> list[str]:
    """Sorted names of the sub-folders of ``root`` that hold at least one image."""
    return sorted(d.name for d in root.iterdir() if d.is_dir() and find_images(d))


class FolderDataModule(FileDataModule):
    """``data=folder``: every image under ``root`` (recursive), split by fractions.
    ``test_fraction=1.0``: every image is the test set, no train/val split (evaluation)."""

    layout_hint = " (any tree of .jpg/.png/.webp/.bmp/.tiff files)"

    def __init__(self, root: str | None = None, val_fraction: float = 0.1,
                 test_fraction: float = 0.0, recursive: bool = True,
                 class_labels: bool = False, pairs: bool = False, **kwargs) -> None:
        super().__init__(root=root, **kwargs)
        self.pairs = bool(pairs)
        self.fractions = (1.0 - val_fraction - test_fraction, float(val_fraction),
                          float(test_fraction))
        self.recursive = bool(recursive)
        self.test_only = float(test_fraction) == 1.0
        self.class_labels = bool(class_labels)

    def label_of(self, path: Path) -> int | None:
        """data.class_labels: the file's first-level sub-folder under root is its class, for
        files nested deeper too (root/Forest/2019/a.jpg is Forest)."""
        if self.classes is None:
            return None
        parts = path.relative_to(Path(str(self.root)).expanduser()).parts
        return self.classes.index(parts[0]) if len(parts) > 1 and parts[0] in self.classes else None

    def list_files(self, root: Path) -> dict[str, list[Path]]:
        if self.class_labels:  # labels from the first-level sub-folders (scene classes)
            self.classes = class_folders(root) or None
        files = seeded_shuffle(find_images(root, self.recursive), self.split_seed)
        if self.test_only:
            return {"train": [], "val": [], "test": files}
        counts = split_counts(len(files), None, self.fractions) if files else [0, 0, 0]
        return dict(zip(("train", "val", "test"), split_list(files, counts)))

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> dict:
        """``pairs``: a simulated previous frame per photo, made before the training crops so
        both frames are cropped and flipped alike."""
        if self.pairs:
            training = self.trainer is not None and self.trainer.training
            sim = simulated_pairs(uint8_to_float(batch["rgb"]), training, self.seed)
            batch = {**batch, "prev_rgb": float_to_uint8(sim["prev_rgb"]),
                     "has_prev": sim["has_prev"]}
        return super().on_after_batch_transfer(batch, dataloader_idx)


class LandscapesDataModule(FileDataModule):
    """``data=landscapes``: ``root/<Class>/*.jpg`` (Kaggle landscapes: Coast, Desert, Forest,
    Glacier, Mountain). Default split 10,000 / 1,500 / 500 when there are enough images,
    fractions otherwise."""

    layout_hint = " with one sub-folder per class (root/Coast/*.jpg, root/Forest/*.jpg, ...)"

    def __init__(self, root: str | None = None, sizes: list[int] | None = (10_000, 1_500, 500),
                 fractions: list[float] = (0.8, 0.15, 0.05), **kwargs) -> None:
        super().__init__(root=root, **kwargs)
        self.sizes = None if sizes is None else [int(s) for s in sizes]
        self.fractions = [float(f) for f in fractions]
        if len(self.fractions) != 3 or (self.sizes is not None and len(self.sizes) != 3):
            raise ValueError(f"data.sizes={sizes} and data.fractions={fractions} need three "
                             "values each: train, val, test.")

    def list_files(self, root: Path) -> dict[str, list[Path]]:
        self.classes = class_folders(root)
        if not self.classes:
            raise ValueError(f"data.root={root} has no class sub-folder with images; "
                             f"expected{self.layout_hint}.")
        files = [f for c in self.classes for f in find_images(root / c)]
        files = seeded_shuffle(files, self.split_seed)
        counts = split_counts(len(files), self.sizes, self.fractions)
        return dict(zip(("train", "val", "test"), split_list(files, counts)))


__all__ = ["FolderDataModule", "LandscapesDataModule", "class_folders"]
