"""Simulated hints: for training (random, from the global RNG that ``seed`` fixes) and for
evaluation (placed the same way for every model and run, from the file name and a seed).

Training follows Zhang, Zhu et al. 2017, section 3.2: the number of points per image is
geometric (p = 1/8), each point reveals the mean colour of a square patch of side 1..k
(k = 9 at 256 px, scaled to the training size), at a uniformly random place. A share of the
images gets no point at all, so one model is also the automatic colorizer; the global hint
(a palette, :func:`colorgan.hints.encode.palette`) is given with some probability, computed
from a *different* random crop of the same photo, so the model learns to use a palette
rather than copy pixels.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from colorgan.hints.encode import no_palette, palette, patch_planes

Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)


@dataclass
class HintSampler:
    """``model.hints`` options of training (see conf/model/hints/default.yaml)."""

    p: float = 0.125  # geometric parameter of the number of points (mean 1 / p)
    max_points: int = 64  # cap of the geometric draw
    max_patch: int | None = None  # largest patch side; None: 9 at 256 px, scaled
    empty_share: float = 0.5  # images with no point hint at all
    global_prob: float = 0.25  # images given their palette as the global hint
    global_crop: tuple[float, float] = (0.25, 1.0)  # area range of the palette's crop

    def __post_init__(self) -> None:
        checks = {"p": 0.0 < self.p <= 1.0, "empty_share": 0.0 <= self.empty_share <= 1.0,
                  "global_prob": 0.0 <= self.global_prob <= 1.0,
                  "max_points": int(self.max_points) >= 1,
                  "max_patch": self.max_patch is None or int(self.max_patch) >= 1,
                  "global_crop": 0.0 < float(self.global_crop[0]) <= float(self.global_crop[1]) <= 1.0}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"model.hints.{name}={getattr(self, name)!r} is out of range "
                                 "(see conf/model/hints/default.yaml for what each option means).")

    def patch_side(self, size: int) -> int:
        return int(self.max_patch) if self.max_patch else max(1, math.ceil(9 * size / 256))

    def boxes(self, h: int, w: int) -> list[Box]:
        """One image's simulated points (torch's global RNG)."""
        if float(torch.rand(())) < self.empty_share:
            return []
        u = float(torch.rand(())) or 1e-12  # geometric on {1, 2, ...}: P(n) = (1-p)^(n-1) p
        n = 1 if self.p >= 1 else 1 + int(math.log(u) / math.log(1.0 - self.p))
        k = self.patch_side(min(h, w))
        out = []
        for _ in range(min(n, int(self.max_points))):
            s = int(torch.randint(1, k + 1, ()))
            y, x = int(torch.randint(0, h - s + 1, ())), int(torch.randint(0, w - s + 1, ()))
            out.append((y, x, y + s, x + s))
        return out

    def global_hints(self, ab: torch.Tensor) -> torch.Tensor:
        """(B, D): each image's palette from another random crop of it, or 'none'."""
        b, _, h, w = ab.shape
        out = no_palette(b, ab.device)
        lo, hi = (float(v) for v in self.global_crop)
        for i in range(b):
            if float(torch.rand(())) >= self.global_prob:
                continue
            area = lo + (hi - lo) * float(torch.rand(()))
            ch, cw = max(1, round(h * math.sqrt(area))), max(1, round(w * math.sqrt(area)))
            y, x = int(torch.randint(0, h - ch + 1, ())), int(torch.randint(0, w - cw + 1, ()))
            out[i] = palette(ab[i:i + 1, :, y:y + ch, x:x + cw])[0]
        return out

    def __call__(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """True normalised ab (B, 2, H, W) -> (hint planes (B, 3, H, W), global hint (B, D))."""
        b, _, h, w = ab.shape
        return patch_planes(ab, [self.boxes(h, w) for _ in range(b)]), self.global_hints(ab)


def hint_sampler(cfg: dict | None) -> HintSampler | None:
    """``model.hints`` -> its training sampler, or None when hints are off."""
    cfg = dict(cfg or {})
    if not cfg.pop("enabled", False):
        return None
    if "global_crop" in cfg:
        cfg["global_crop"] = tuple(cfg["global_crop"])
    known = set(HintSampler.__dataclass_fields__)
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"model.hints: unknown option(s) {unknown}; known: "
                         f"{sorted(known | {'enabled'})}.")
    return HintSampler(**cfg)


def eval_boxes(key: str, seed: int, n: int, h: int, w: int, side: int = 3) -> list[Box]:
    """``n`` points of side ``side`` at places fixed by (``seed``, ``key``, e.g. the file
    name), uniform over the image: the same for every model, run and machine."""
    if n < 0:
        raise ValueError(f"hints.points={n} must be >= 0.")
    rng = random.Random(f"colorgan-hints:{seed}:{key}")  # str seeds are stable across runs
    s = max(1, min(side, h, w))
    return [(y, x, y + s, x + s) for y, x in
            ((rng.randrange(h - s + 1), rng.randrange(w - s + 1)) for _ in range(n))]


__all__ = ["HintSampler", "eval_boxes", "hint_sampler"]
