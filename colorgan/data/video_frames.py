"""``data=video_frames``: frames sampled from videos (cached, :mod:`colorgan.data.frames`), split
by whole scenes or videos; ``pairs=true`` adds ``prev_rgb`` and ``has_prev`` (temporal nets).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import ListConfig
from torch.utils.data import Dataset

from colorgan.data.base import ColorDataModule
from colorgan.data.files import require_dir
from colorgan.data.frames import cached_frames
from colorgan.data.images import hwc_to_chw
from colorgan.data.splits import cap, seeded_shuffle, split_groups
from colorgan.media import VIDEO_EXTS
from colorgan.media import find_videos as videos_under
from colorgan.scenes import DEFAULT_THRESHOLD


def find_videos(root) -> list[Path]:
    """A video file, a folder of videos (recursive) or a list of either -> sorted files."""
    if isinstance(root, (list, tuple, ListConfig)):
        return [v for r in root for v in find_videos(r)]
    if root is not None and Path(str(root)).is_file():
        return [Path(str(root))]
    folder = require_dir(root, hint=" (a video file, a folder of videos, or a list of them)")
    videos = videos_under(folder)
    if not videos:
        raise FileNotFoundError(f"data.root={folder} holds no video file "
                                f"({' '.join(VIDEO_EXTS)}); point it at videos.")
    return videos


class VideoFrames(Dataset):
    """Items ``(video, frame)`` of cached arrays (memory-mapped per worker) -> ``{"rgb"}`` (+ pairs)."""

    def __init__(self, arrays: list[Path], items: list[tuple[int, int]],
                 scenes: list[list[int]], pairs: bool = False) -> None:
        self.arrays, self.items, self.scenes, self.pairs = arrays, items, scenes, pairs
        self._open: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __getstate__(self) -> dict:  # workers re-open the memory maps themselves
        return {**self.__dict__, "_open": {}}

    def _frame(self, v: int, f: int) -> torch.Tensor:
        if v not in self._open:
            self._open[v] = np.load(self.arrays[v], mmap_mode="r")
        return hwc_to_chw(self._open[v][f])  # (3, S, S)

    def __getitem__(self, i: int) -> dict:
        v, f = self.items[i]
        out = {"rgb": self._frame(v, f)}
        if self.pairs:
            has_prev = f > 0 and self.scenes[v][f - 1] == self.scenes[v][f]
            out["prev_rgb"] = self._frame(v, f - 1) if has_prev else out["rgb"].clone()
            out["has_prev"] = torch.tensor(has_prev)
        return out


class VideoFramesDataModule(ColorDataModule):
    """Frames of ``root`` videos at ``fps``, cached in ``cache_dir``, split by ``split_by``."""

    def __init__(self, root=None, fps: float | None = 8.0, cache_dir: str = "data/cache/frames",
                 split_by: str = "scene", val_fraction: float = 0.2,
                 scene_threshold: float = DEFAULT_THRESHOLD, pairs: bool = False,
                 max_train: int | None = None, max_val: int | None = None,
                 split_seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        if split_by not in ("scene", "video"):
            raise ValueError(f"data.split_by={split_by!r}: choose scene or video.")
        if fps is not None and float(fps) < 0:
            raise ValueError(f"data.fps={fps} must be positive (or null for every frame).")
        self.root, self.fps, self.cache_dir = root, (float(fps) if fps else None), cache_dir
        self.split_by, self.val_fraction = split_by, float(val_fraction)
        self.threshold, self.pairs = float(scene_threshold), bool(pairs)
        self.caps = {"train": max_train, "val": max_val}
        self.split_seed = int(split_seed)
        self.manifests: list[dict] = []

    def prepare_data(self) -> None:
        """Decode every video into the cache once (rank 0 only under DDP)."""
        for v in find_videos(self.root):
            cached_frames(v, self.fps, self.image_size, Path(self.cache_dir), self.threshold)

    def setup(self, stage: str | None = None) -> None:
        if self.data_train is not None:
            return
        videos = find_videos(self.root)
        entries = [cached_frames(v, self.fps, self.image_size, Path(self.cache_dir),
                                 self.threshold) for v in videos]
        arrays = [a for a, _ in entries]
        self.manifests = [m for _, m in entries]
        scenes = [m["scenes"] for m in self.manifests]
        items = [(v, f) for v, s in enumerate(scenes) for f in range(len(s))]
        groups = [(v, scenes[v][f]) if self.split_by == "scene" else v for v, f in items]
        try:
            val_groups = split_groups(groups, self.val_fraction, self.split_seed)
        except ValueError:
            raise ValueError(
                f"data.root={self.root}: the {len(items)} frames of {len(videos)} video(s) form "
                f"one {'scene' if self.split_by == 'scene' else 'video'}, so train and val "
                "cannot be kept apart. Add videos (data.split_by=video), or lower "
                f"data.scene_threshold (now {self.threshold}) to find more cuts.") from None
        split = {"train": [], "val": []}
        for item, g in zip(items, groups):
            split["val" if g in val_groups else "train"].append(item)
        mk = lambda name: VideoFrames(
            arrays, cap(seeded_shuffle(split[name], self.split_seed), self.caps[name]),
            scenes, self.pairs)
        self.data_train, self.data_val = mk("train"), mk("val")
        self.val_groups = val_groups


__all__ = ["VideoFrames", "VideoFramesDataModule", "find_videos"]
