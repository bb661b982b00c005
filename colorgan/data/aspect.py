"""Wide training batches: train the generator on the shapes ``colorgan colorize`` feeds it (a
16:9 film reaches ``unet_64`` as 64x128). With ``data.aspect_crops.p > 0`` that share of the
batches is a full-width window of the given ratio, resized to the colorizer's shape for it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def keep_aspect_size(height: float, width: float, short: int, multiple: int = 1) -> tuple[int, int]:
    """(H, W) with the short side at ``short``, aspect kept, both sides rounded to ``multiple``."""
    scale = short / min(height, width)
    return tuple(max(multiple, round(x * scale / multiple) * multiple)  # type: ignore[return-value]
                 for x in (height, width))


class AspectCrops:
    """Share ``p`` of training batches cut as ``ratio`` (width / height) frames; see module doc."""

    def __init__(self, p: float = 0.0, ratio: float = 16 / 9) -> None:
        p, ratio = float(p), float(ratio)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"data.aspect_crops.p={p} must be a share of batches in [0, 1] "
                             "(0 turns wide crops off, 0.5 makes every other batch wide).")
        if ratio <= 0:
            raise ValueError(f"data.aspect_crops.ratio={ratio} must be a width/height ratio > 0 "
                             "(16:9 films: 1.778; portrait photos: below 1).")
        self.p, self.ratio = p, ratio

    @property
    def enabled(self) -> bool:
        return self.p > 0

    def shape(self, short: int, multiple: int = 1) -> tuple[int, int]:
        """The generator input of a wide batch, e.g. (64, 128) for 16:9 with ``unet_64``."""
        return keep_aspect_size(1.0, self.ratio, short, multiple)

    def load_size(self, short: int, multiple: int = 1) -> int:
        """Square size to load training files at so a wide window is never upscaled."""
        return max(short, *self.shape(short, multiple)) if self.enabled else short

    def window(self, size: int) -> tuple[int, int]:
        """(h, w) of the ``ratio`` window cut from a ``size`` x ``size`` image."""
        if self.ratio >= 1:
            return max(1, round(size / self.ratio)), size
        return size, max(1, round(size * self.ratio))

    def __call__(self, images: torch.Tensor, short: int, multiple: int = 1) -> torch.Tensor:
        """Float (B, C, S, S) training batch -> (B, C, short, short) or, with probability ``p``,
        one wide shape (a window position per image; stacked frame pairs are cut alike)."""
        wide = self.enabled and bool(torch.rand(()) < self.p)  # p = 0: no draw, RNG untouched
        if not wide:
            if images.shape[-2:] == (short, short):
                return images
            return F.interpolate(images, size=(short, short), mode="bilinear", antialias=True,
                                 align_corners=False)
        B, _, H, W = images.shape
        h, w = self.window(min(H, W))
        top = torch.randint(0, H - h + 1, (B,)).tolist()
        left = torch.randint(0, W - w + 1, (B,)).tolist()
        crops = torch.stack([x[:, t:t + h, s:s + w] for x, t, s in zip(images, top, left)])
        return F.interpolate(crops, size=self.shape(short, multiple), mode="bilinear",
                             antialias=True, align_corners=False)  # (B, C, h', w')


__all__ = ["AspectCrops", "keep_aspect_size"]
