"""Deterministic splits by a seeded ``torch.Generator`` (training seeds do not move them);
grouped splits (scenes, videos) keep every group on one side.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

import torch

T = TypeVar("T")


def seeded_shuffle(items: Sequence[T], seed: int) -> list[T]:
    """The same permutation of ``items`` for the same seed and length."""
    order = torch.randperm(len(items), generator=torch.Generator().manual_seed(int(seed)))
    return [items[i] for i in order.tolist()]


def split_counts(n: int, sizes: Sequence[int] | None, fractions: Sequence[float]) -> list[int]:
    """How many items go to each split: ``sizes`` when there are enough items, else ``fractions``
    of ``n`` for every split after the first, which takes the rest."""
    if sizes is not None and sum(int(s) for s in sizes) <= n:
        return [int(s) for s in sizes]
    if any(f < 0 for f in fractions) or sum(fractions[1:]) >= 1:
        raise ValueError(f"split fractions {list(fractions)} must be >= 0 and leave some "
                         "items for training (val + test fractions < 1).")
    rest = [round(n * f) if f == 0 or n < 2 else max(1, round(n * f)) for f in fractions[1:]]
    first = n - sum(rest)
    if first < 1:
        raise ValueError(f"only {n} item(s): too few to split into {len(fractions)} parts "
                         f"with fractions {list(fractions)}; add data or lower the fractions.")
    return [first, *rest]


def split_list(items: Sequence[T], counts: Sequence[int]) -> list[list[T]]:
    """Consecutive slices of ``items`` with the given lengths."""
    out, start = [], 0
    for c in counts:
        out.append(list(items[start:start + c]))
        start += c
    return out


def cap(items: list[T], limit: int | None) -> list[T]:
    """The first ``limit`` items (all when ``limit`` is None)."""
    if limit is None:
        return items
    if int(limit) < 0:
        raise ValueError(f"a cap on the number of images must be >= 0 or null, got {limit}.")
    return items[:int(limit)]


def split_groups(groups: Sequence[Hashable], val_fraction: float, seed: int) -> set:
    """Whole groups (``groups[i]``: item i's) for validation, in seeded order, up to
    ``val_fraction`` of the items; at least one each side (fewer than two groups: ValueError)."""
    sizes = Counter(groups)
    if len(sizes) < 2:
        raise ValueError(f"only {len(sizes)} scene/video: cannot keep train and val apart.")
    target = val_fraction * len(groups)
    val, count = set(), 0
    for g in seeded_shuffle(sorted(sizes, key=str), seed):
        if len(val) == len(sizes) - 1 or (target == 0 and not val):
            break  # keep at least one group for training
        if not val or count + sizes[g] <= target:  # never overshoot after the first group
            val.add(g)
            count += sizes[g]
    return val


__all__ = ["cap", "seeded_shuffle", "split_counts", "split_groups", "split_list"]
