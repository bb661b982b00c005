"""``data=places365``: Places365 (Zhou et al. 2017), torchvision's file list through the shared
file-backed design; test from ``test_split``, or carved out when it is ``train_split``.
"""
from __future__ import annotations

from pathlib import Path

from colorgan.data.files import FileDataModule, torchvision_dataset
from colorgan.data.splits import seeded_shuffle, split_counts, split_list

SPLITS = ("train-standard", "train-challenge", "val", "test")


class Places365DataModule(FileDataModule):
    """Places365 small (256x256) or large images, split and capped like every file dataset."""

    layout_hint = (" holding Places365 as torchvision lays it out (categories_places365.txt, "
                   "places365_*.txt, data_256/ or val_256/); add data.download=true to fetch it")

    def __init__(self, root: str | None = None, small: bool = True, download: bool = False,
                 train_split: str = "train-standard", test_split: str = "val",
                 val_fraction: float = 0.02, test_fraction: float = 0.1, **kwargs) -> None:
        super().__init__(root=root, **kwargs)
        for name, value in (("train_split", train_split), ("test_split", test_split)):
            if value not in SPLITS:
                raise ValueError(f"data.{name}={value!r}: choose one of {list(SPLITS)}.")
        self.small, self.download = bool(small), bool(download)
        self.train_split, self.test_split = train_split, test_split
        self.val_fraction, self.test_fraction = float(val_fraction), float(test_fraction)
        self._labels: dict[Path, int | None] = {}  # file -> class index, from the file lists

    def _file_list(self, root: Path, split: str) -> list[Path]:
        from torchvision.datasets import Places365

        ds = torchvision_dataset(
            lambda dl: Places365(str(root), split=split, small=self.small, download=dl),
            root, self.download, f"Places365 {split} split", self.layout_hint)
        # the class names in the order of the file lists' indices (categories_places365.txt)
        self.classes = [c for c, _ in sorted(ds.class_to_idx.items(), key=lambda kv: kv[1])]
        self._labels.update((Path(p), label) for p, label in ds.imgs)  # test: label None
        return [Path(p) for p, _ in ds.imgs]

    def label_of(self, path: Path) -> int | None:
        """The file's class index from its split's file list (None: the unlabelled test split)."""
        return self._labels.get(Path(path))

    def list_files(self, root: Path) -> dict[str, list[Path]]:
        pool = seeded_shuffle(self._file_list(root, self.train_split), self.split_seed)
        same = self.test_split == self.train_split  # one split for all: carve test out too
        tf = self.test_fraction if same else 0.0
        train, val, test = split_list(pool, split_counts(
            len(pool), None, (1 - self.val_fraction - tf, self.val_fraction, tf)))
        if not same:
            test = seeded_shuffle(self._file_list(root, self.test_split), self.split_seed)
        return {"train": train, "val": val, "test": test}

    def prepare_data(self) -> None:
        """Download once (rank 0 under DDP) before every rank's setup."""
        if self.download:
            for split in {self.train_split, self.test_split}:
                self._file_list(Path(str(self.root)).expanduser(), split)

    def setup(self, stage: str | None = None) -> None:
        if self.download and self.data_train is None:
            self.prepare_data()  # setup() called without Lightning (scripts, tests)
        super().setup(stage)


__all__ = ["Places365DataModule"]
