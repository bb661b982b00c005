"""Built-in synthetic colour scenes, the offline default dataset: procedural landscapes whose
colour is learnable from luminance, texture and layout, deterministic by seed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from colorgan.data.base import ColorDataModule


def _rand(g: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * torch.rand((), generator=g).item()


def _noise(g: torch.Generator, h: int, w: int, cells: int) -> torch.Tensor:
    """Smooth value noise in [0, 1], (H, W)."""
    coarse = torch.rand(1, 1, cells, cells, generator=g)
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)[0, 0].clamp(0, 1)


def _paint(img: torch.Tensor, mask: torch.Tensor, color) -> None:
    """img (3, H, W) <- color where mask (H, W) (soft masks blend)."""
    col = torch.as_tensor(color, dtype=img.dtype).view(3, 1, 1)
    img.mul_(1 - mask).add_(mask * col)


def render_scene(size: int, seed: int, width: int | None = None) -> torch.Tensor:
    """Draw one scene as float RGB (3, H, W) in [0, 1]."""
    h, w = int(size), int(width or size)
    g = torch.Generator().manual_seed(int(seed))
    yy = torch.linspace(0, 1, h).view(h, 1).expand(h, w)
    xx = torch.linspace(0, 1, w).view(1, w).expand(h, w)
    horizon = _rand(g, 0.35, 0.62)

    sunset = _rand(g) < 0.25
    top, bottom = ((0.25, 0.25, 0.55), (0.98, 0.62, 0.32)) if sunset else (
        (0.12, 0.32, 0.78), (0.62, 0.82, 0.97))
    t = (yy / horizon).clamp(0, 1).unsqueeze(0)  # (1, H, W)
    img = torch.tensor(top).view(3, 1, 1) * (1 - t) + torch.tensor(bottom).view(3, 1, 1) * t
    img = img.clone()

    if _rand(g) < 0.6:  # sun
        cx, cy, r = _rand(g, 0.1, 0.9), _rand(g, 0.08, horizon * 0.7), _rand(g, 0.04, 0.09)
        d = ((xx - cx) ** 2 + (yy - cy) ** 2).sqrt()
        _paint(img, (d < r).float(), (1.0, 0.93, 0.45) if not sunset else (1.0, 0.75, 0.3))
    for _ in range(int(_rand(g, 0, 3))):  # clouds: soft white blobs
        cx, cy = _rand(g, 0, 1), _rand(g, 0.05, horizon * 0.8)
        d = (((xx - cx) / 0.12) ** 2 + ((yy - cy) / 0.04) ** 2)
        _paint(img, (1 - d).clamp(0, 1) * 0.9, (0.97, 0.97, 0.99))

    ground = (yy >= horizon).float()
    kind = int(_rand(g, 0, 3))
    tex = _noise(g, h, w, max(4, h // 6))
    if kind == 0:  # grass: textured green
        shade = 0.75 + 0.5 * (tex - 0.5)
        col = torch.stack([0.22 * shade, 0.55 * shade, 0.16 * shade])
    elif kind == 1:  # water: blue with horizontal ripples
        ripple = 0.85 + 0.15 * torch.sin(yy * h * 0.9 + 3 * tex)
        col = torch.stack([0.08 * ripple, 0.32 * ripple, 0.62 * ripple])
    else:  # sand: bright, warm, slightly grainy
        shade = 0.9 + 0.2 * (tex - 0.5)
        col = torch.stack([0.88 * shade, 0.76 * shade, 0.5 * shade])
    img = img * (1 - ground) + col * ground

    for _ in range(int(_rand(g, 0, 4))):  # trees: brown trunk, textured dark-green crown
        cx, base = _rand(g, 0.05, 0.95), _rand(g, horizon + 0.05, 1.0)
        r = _rand(g, 0.05, 0.1)
        trunk = ((xx - cx).abs() < r * 0.22) & (yy < base) & (yy > base - 2.2 * r)
        _paint(img, trunk.float(), (0.4, 0.26, 0.13))
        d = ((xx - cx) ** 2 + (yy - (base - 2.4 * r)) ** 2).sqrt()
        crown = (d < r).float() * (0.7 + 0.6 * (_noise(g, h, w, max(4, h // 4)) - 0.5))
        _paint(img, (d < r).float(), (0.0, 0.0, 0.0))
        img = img + crown.unsqueeze(0) * torch.tensor((0.1, 0.38, 0.1)).view(3, 1, 1)

    if _rand(g) < 0.5:  # house: light wall, red or brown triangular roof, dark door
        x0, wd = _rand(g, 0.05, 0.6), _rand(g, 0.18, 0.32)
        y1 = _rand(g, horizon + 0.1, 0.95)
        ht = wd * _rand(g, 0.6, 0.9)
        wall = (xx > x0) & (xx < x0 + wd) & (yy > y1 - ht) & (yy < y1)
        _paint(img, wall.float(), [(0.93, 0.9, 0.82), (0.85, 0.8, 0.7), (0.95, 0.95, 0.95)][
            int(_rand(g, 0, 3))])
        apex = y1 - ht - wd * 0.45
        rel = (yy - apex) / (y1 - ht - apex + 1e-6)
        roof = (yy > apex) & (yy <= y1 - ht) & ((xx - (x0 + wd / 2)).abs() < rel * wd * 0.6)
        _paint(img, roof.float(), (0.72, 0.14, 0.1) if _rand(g) < 0.6 else (0.45, 0.25, 0.12))
        door = (xx > x0 + wd * 0.42) & (xx < x0 + wd * 0.58) & (yy > y1 - ht * 0.5) & (yy < y1)
        _paint(img, door.float(), (0.3, 0.18, 0.1))
    return img.clamp(0, 1)


class SyntheticScenes(Dataset):
    """``num`` scenes (seed ``seed * 1_000_003 + i``); ``pairs=True``: two frames of a slow pan."""

    def __init__(self, num: int, image_size: int, seed: int = 0, pairs: bool = False) -> None:
        if int(num) <= 0:
            raise ValueError(f"data.num_train/num_val must be positive, got {num}.")
        self.num, self.size, self.seed, self.pairs = int(num), int(image_size), int(seed), pairs

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, i: int) -> dict:
        s = self.seed * 1_000_003 + int(i)
        if not self.pairs:
            return {"rgb": (render_scene(self.size, s) * 255).round().to(torch.uint8)}
        shift = max(1, self.size // 32)
        wide = render_scene(self.size, s, width=self.size + shift)  # (3, H, W + shift)
        to8 = lambda x: (x * 255).round().to(torch.uint8)  # noqa: E731
        first = (i % 8) == 0  # every 8th pair starts a shot: no previous frame
        return {"rgb": to8(wide[:, :, shift:]), "prev_rgb": to8(wide[:, :, :self.size]),
                "has_prev": torch.tensor(not first)}


class SyntheticDataModule(ColorDataModule):
    """``data=synthetic``: generated on the fly, no files, no download."""

    def __init__(self, num_train: int = 2000, num_val: int = 64, num_test: int = 64,
                 pairs: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_train, self.num_val, self.num_test = int(num_train), int(num_val), int(num_test)
        self.pairs = bool(pairs)

    def setup(self, stage: str | None = None) -> None:
        mk = lambda n, off: SyntheticScenes(n, self.image_size, self.seed + off, self.pairs)  # noqa
        self.data_train = mk(self.num_train, 0)
        self.data_val = mk(self.num_val, 10_000)
        self.data_test = mk(self.num_test, 20_000)


__all__ = ["render_scene", "SyntheticScenes", "SyntheticDataModule"]
