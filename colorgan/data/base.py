"""Shared LightningDataModule design: workers hand over ``{"rgb": uint8 (3, H, W)}`` (and
``prev_rgb``, ``has_prev`` for frame pairs); ``on_after_batch_transfer`` makes float RGB in
[0, 1] and augments on the batch's device with kornia.
"""
from __future__ import annotations

import math
from typing import Any

import kornia.augmentation as K
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from colorgan.color import uint8_to_float
from colorgan.data.aspect import AspectCrops
from colorgan.utils.perf import default_workers


def build_augmentation(hflip: bool = True, vflip: bool = False, rot90: bool = False,
                       p: float = 0.5) -> torch.nn.Module | None:
    """Random flips and 90-degree rotations on the GPU (kornia). None when all are off."""
    ops: list[torch.nn.Module] = []
    if hflip:
        ops.append(K.RandomHorizontalFlip(p=p))
    if vflip:
        ops.append(K.RandomVerticalFlip(p=p))
    if rot90:
        ops.append(K.RandomRotation90(times=(0, 3), p=1.0))
    if not ops:
        return None
    return K.AugmentationSequential(*ops)


def check_crop_scale(value) -> tuple[float, float] | None:
    """``data.augment.crop_scale``: null, or [min, max] shares of the image area per crop."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = float("nan")
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"data.augment.crop_scale={value} must be [min, max] shares of the "
                         "image area with 0 < min <= max <= 1 (e.g. [0.4, 1.0]), or null for "
                         "no random crops.")
    return lo, hi


class ColorDataModule(pl.LightningDataModule):
    """Base class: subclasses implement ``setup`` and set ``data_train/data_val/data_test``."""

    def __init__(self, image_size: int = 64, batch_size: int = 16, num_workers: int | None = 0,
                 pin_memory: bool | None = False, augment: dict | None = None, seed: int = 0,
                 aspect_crops: dict | None = None) -> None:
        super().__init__()
        if int(image_size) <= 0:
            raise ValueError(f"data.image_size={image_size} must be a positive number of pixels.")
        if int(batch_size) <= 0:
            raise ValueError(f"data.batch_size={batch_size} must be positive.")
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        # null: enough workers to keep a GPU fed, pinned memory on CUDA (colorgan/utils/perf.py)
        self.num_workers = default_workers() if num_workers is None else int(num_workers)
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.seed = int(seed)
        aug = dict(augment or {})
        enabled = aug.pop("enabled", True)
        self.crop_scale = check_crop_scale(aug.pop("crop_scale", None)) if enabled else None
        self._crops: dict[tuple[int, int], torch.nn.Module] = {}
        try:
            self.augment = build_augmentation(**aug) if enabled else None
        except TypeError as e:
            raise ValueError(f"data.augment={aug} has an unknown key ({e}); "
                             "use hflip, vflip, rot90, p, crop_scale, enabled.") from None
        try:
            self.aspect_crops = AspectCrops(**dict(aspect_crops or {}))
        except TypeError as e:
            raise ValueError(f"data.aspect_crops={dict(aspect_crops or {})} has an unknown key "
                             f"({e}); use p and ratio.") from None
        self.size_multiple = 1  # the generator's; train() sets it (wide crops are rounded to it)
        self.data_train: Dataset | None = None
        self.data_val: Dataset | None = None
        self.data_test: Dataset | None = None

    @property
    def train_load_size(self) -> int:
        """Size training samples are loaded at: wide or random crops are never upscaled."""
        size = self.aspect_crops.load_size(self.image_size, self.size_multiple)
        if self.crop_scale is not None:
            size = max(size, math.ceil(self.image_size / math.sqrt(self.crop_scale[0])))
        return size

    def random_crops(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) -> the same: each image a random window of ``crop_scale`` of its area."""
        size = tuple(images.shape[-2:])
        if size not in self._crops:
            self._crops[size] = K.RandomResizedCrop(size, scale=self.crop_scale,
                                                    ratio=(3 / 4, 4 / 3))
        return self._crops[size](images)

    # ---------------------------------------------------------------- loaders
    def _loader(self, dataset: Dataset | None, split: str, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__} has no {split} split: call setup() first.")
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(dataset) > self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.data_train, "train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.data_val, "val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if self.data_test is None and self.data_val is not None:  # never val in test's place
            raise ValueError(
                f"{type(self).__name__} has no test split (data.test_fraction=0, or a dataset "
                "without one): evaluate with split=val, which chose the checkpoint (in-sample), "
                "or give the data a test split (data=folder: data.test_fraction=0.1, the same "
                "as in training).")
        return self._loader(self.data_test, "test", shuffle=False)

    # ----------------------------------------------------- device-side work
    def training_view(self, images: torch.Tensor) -> torch.Tensor:
        """Float images (B, C, S, S) as training sees them (crops, flips, wide crops per image)."""
        if self.crop_scale is not None:
            images = self.random_crops(images)
        if self.augment is not None:
            images = self.augment(images)
        return self.aspect_crops(images, self.image_size, self.size_multiple)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> dict:
        """uint8 -> float [0, 1]; in training, :meth:`training_view` once for both frames of a pair."""
        batch = dict(batch)
        rgb = uint8_to_float(batch["rgb"])  # (B, 3, H, W)
        prev = uint8_to_float(batch["prev_rgb"]) if "prev_rgb" in batch else None
        training = self.trainer is not None and self.trainer.training
        if training:
            both = rgb if prev is None else torch.cat([rgb, prev], dim=1)  # (B, 3 or 6, H, W)
            both = self.training_view(both)
            rgb, prev = (both, None) if prev is None else (both[:, :3], both[:, 3:])
        batch["rgb"] = rgb.contiguous()
        if prev is not None:
            batch["prev_rgb"] = prev.contiguous()
        return batch
