"""``data=cifar10``: CIFAR-10 (Krizhevsky 2009), 32 px, from a class-per-folder copy
(``root/{train,test}/<class>/*.jpg``) or torchvision's batches (``data.download=true``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from colorgan.data.files import FileDataModule, require_dir, torchvision_dataset
from colorgan.data.folder import class_folders
from colorgan.data.images import GRAY_CHROMA, find_images, fit_rgb, hwc_to_chw
from colorgan.data.splits import cap, seeded_shuffle, split_counts, split_list

BATCHES = "cifar-10-batches-py"


class ArrayImages(Dataset):
    """Selected rows of an (N, H, W, 3) uint8 array -> ``{"rgb": uint8 (3, size, size)}``."""

    def __init__(self, data, indices: list[int], image_size: int, labels=None, classes=None):
        self.data, self.indices, self.size = data, list(indices), int(image_size)
        self.labels = [int(labels[i]) for i in self.indices] if labels is not None else None
        self.classes = classes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        arr = self.data[self.indices[i]]  # (H, W, 3) uint8
        if arr.shape[0] == self.size and arr.shape[1] == self.size:
            item = {"rgb": hwc_to_chw(arr)}
        else:
            item = {"rgb": fit_rgb(Image.fromarray(arr), self.size)}
        if self.labels is not None:
            item["label"] = self.labels[i]
        return item


def colour_only(data: np.ndarray, indices: list[int]) -> list[int]:
    """``indices`` of uint8 (N, H, W, 3) ``data`` without the black-and-white images."""
    arr = data[indices].astype(np.float32)  # (n, H, W, 3)
    chroma = np.abs(arr - arr.mean(-1, keepdims=True)).mean((1, 2, 3))  # (n,)
    return [i for i, c in zip(indices, chroma) if c >= GRAY_CHROMA]


class CIFAR10DataModule(FileDataModule):
    """CIFAR-10 from a folder copy or torchvision (``source=auto``: the folder copy if there)."""

    layout_hint = (" holding train/<class>/*.jpg and test/<class>/*.jpg, or the "
                   f"torchvision copy ({BATCHES}/); add data.download=true to fetch it")

    def __init__(self, root: str | None = None, source: str = "auto", download: bool = False,
                 val_fraction: float = 0.1, class_labels: bool = True, **kwargs) -> None:
        super().__init__(root=root, **kwargs)
        self.class_labels = bool(class_labels)  # false: no labels (as data=folder's default)
        if source not in ("auto", "folder", "torchvision"):
            raise ValueError(f"data.source={source!r}: choose auto, folder or torchvision.")
        self.source, self.download = source, bool(download)
        self.val_fraction = float(val_fraction)

    def _is_folder_copy(self, root: Path) -> bool:
        return (root / "train").is_dir() and bool(class_folders(root / "train"))

    def list_files(self, root: Path) -> dict[str, list[Path]]:
        train_dir, test_dir = root / "train", root / "test"
        self.classes = class_folders(train_dir) if self.class_labels else None
        pool = seeded_shuffle(find_images(train_dir), self.split_seed)
        counts = split_counts(len(pool), None, (1 - self.val_fraction, self.val_fraction))
        train, val = split_list(pool, counts)
        test = seeded_shuffle(find_images(test_dir), self.split_seed) if test_dir.is_dir() else []
        return {"train": train, "val": val, "test": test}

    def prepare_data(self) -> None:
        """Download once (rank 0 under DDP) before every rank's setup."""
        if self.download and not self._use_folder():
            self._torchvision_sets()

    def _use_folder(self) -> bool:
        root = Path(str(self.root)).expanduser() if self.root not in (None, "", "???") else None
        return self.source == "folder" or (self.source == "auto" and root is not None
                                           and root.is_dir() and self._is_folder_copy(root))

    def setup(self, stage: str | None = None) -> None:
        if self.data_train is not None:
            return
        if not self._use_folder():
            return self._setup_torchvision()
        root = require_dir(self.root, hint=self.layout_hint)
        if not self._is_folder_copy(root):  # data.source=folder on another layout
            raise FileNotFoundError(f"data.root={root} has no train/<class>/ image folders; "
                                    f"expected a folder{self.layout_hint}.")
        return super().setup(stage)

    def _torchvision_sets(self) -> tuple:
        from torchvision.datasets import CIFAR10

        root = str(Path(str(self.root)).expanduser())
        return tuple(torchvision_dataset(
            lambda dl, tr=train: CIFAR10(root, train=tr, download=dl), self.root,
            self.download, "CIFAR-10", self.layout_hint) for train in (True, False))

    def _setup_torchvision(self) -> None:
        train_set, test_set = self._torchvision_sets()
        self.classes = list(train_set.classes) if self.class_labels else None
        train, val = split_list(seeded_shuffle(range(len(train_set)), self.split_seed),
                                split_counts(len(train_set), None,
                                             (1 - self.val_fraction, self.val_fraction)))
        test = seeded_shuffle(range(len(test_set)), self.split_seed)
        if self.skip_gray:  # the same rule as the file check (colorgan/data/images.py)
            train, val, test = (colour_only(ds.data, idx) for ds, idx in
                                ((train_set, train), (train_set, val), (test_set, test)))
        mk = lambda ds, idx, split: ArrayImages(ds.data, cap(idx, self.caps[split]),
                                                self.image_size,
                                                ds.targets if self.classes else None, self.classes)
        self.data_train, self.data_val = mk(train_set, train, "train"), mk(train_set, val, "val")
        self.data_test = mk(test_set, test, "test")


__all__ = ["ArrayImages", "CIFAR10DataModule"]
