"""Split helpers and the Places365 split/caps logic (torchvision's file list stood in)."""
from __future__ import annotations

from pathlib import Path

import hydra
import numpy as np
import pytest
import torchvision.datasets
from PIL import Image

from colorgan.data.splits import cap, seeded_shuffle, split_counts, split_groups, split_list
from tests.conftest import make_cfg


def test_seeded_shuffle_is_fixed_by_seed():
    items = list(range(50))
    assert seeded_shuffle(items, 3) == seeded_shuffle(items, 3)
    assert seeded_shuffle(items, 3) != seeded_shuffle(items, 4)
    assert sorted(seeded_shuffle(items, 3)) == items


def test_split_counts_sizes_then_fractions():
    assert split_counts(20_000, (10_000, 1_500, 500), (0.8, 0.15, 0.05)) == [10_000, 1_500, 500]
    assert split_counts(1_000, (10_000, 1_500, 500), (0.8, 0.15, 0.05)) == [800, 150, 50]
    assert split_counts(3, None, (0.8, 0.1, 0.1)) == [1, 1, 1]  # tiny: one each, not zero
    with pytest.raises(ValueError, match="too few"):
        split_counts(2, None, (0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match="fractions"):
        split_counts(100, None, (0.0, 0.6, 0.4))


def test_split_list_and_cap():
    assert split_list("abcdef", [3, 2, 1]) == [["a", "b", "c"], ["d", "e"], ["f"]]
    assert cap([1, 2, 3], None) == [1, 2, 3] and cap([1, 2, 3], 2) == [1, 2]
    with pytest.raises(ValueError, match=">= 0"):
        cap([1], -1)


def test_split_groups_keeps_groups_whole_and_near_the_fraction():
    groups = [g for g in range(10) for _ in range(10)]  # 10 groups of 10 items
    val = split_groups(groups, 0.3, seed=0)
    assert len(val) == 3 and val == split_groups(groups, 0.3, seed=0)
    assert split_groups(groups, 0.99, seed=1) != set(range(10))  # training keeps one
    assert split_groups(groups, 0.0, seed=0) == set()
    assert len(split_groups([0] * 90 + [1] * 5 + [2] * 5, 0.05, seed=0)) == 1  # at least one
    with pytest.raises(ValueError, match="only 1"):
        split_groups([7] * 20, 0.2, seed=0)


class FakePlaces365:
    """torchvision.datasets.Places365 with its file list made of local images."""

    root: Path

    def __init__(self, root, split, small, download):
        files = sorted((self.root / split).glob("*.png"))
        self.classes = ["/a/abbey", "/b/beach"]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.imgs = [(str(f), i % 2) for i, f in enumerate(files)]


@pytest.mark.parametrize("config, sizes", [
    ("places365", (9, 1, 5)),          # train-standard -> train/val, val split -> test
    ("places365_2k", (8, 1, 1)),       # one split for all: test carved out too
])
def test_places365_splits_and_caps(tmp_path, monkeypatch, config, sizes):
    for split, n in (("train-standard", 10), ("val", 10)):
        (tmp_path / split).mkdir()
        for i in range(n):
            colour = np.array([i * 20, 200 - i * 10, 90], np.uint8)  # colour: not left out
            Image.fromarray(np.full((8, 8, 3), colour, np.uint8)).save(tmp_path / split / f"{i}.png")
    FakePlaces365.root = tmp_path
    monkeypatch.setattr(torchvision.datasets, "Places365", FakePlaces365)
    over = [f"data={config}", f"data.root={tmp_path}", "data.image_size=8",
            "data.val_fraction=0.1", "data.max_test=5"]
    dm = hydra.utils.instantiate(make_cfg(tmp_path, over).data)
    dm.setup("fit")
    got = (len(dm.data_train), len(dm.data_val), len(dm.data_test))
    assert got == sizes
    everything = dm.data_train.files + dm.data_val.files + dm.data_test.files
    assert len(set(everything)) == len(everything)  # no image in two splits
