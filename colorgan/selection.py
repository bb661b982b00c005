"""Checkpoint selection that does not reward dullness.

Picking the epoch with the best PSNR favours washed-out models (gray scores well on PSNR). The
rule, ``model.selection``, turns the validation metrics into one score ``val/select`` (higher is
better) that the checkpoint callback monitors and ``metrics.json`` records:

- ``psnr``: val PSNR (the classic rule).
- ``ciede2000``: minus the mean CIEDE2000 colour difference.
- ``psnr_vivid``: val PSNR among epochs whose colorfulness is at least ``min_colorfulness``
  times the ground truth's; epochs below that get PSNR - 100 (never preferred to a vivid one).
"""
from __future__ import annotations

import torch

RULES = ("psnr", "ciede2000", "psnr_vivid")
PENALTY = 100.0


def check_rule(selection: dict | None) -> dict:
    sel = {"rule": "psnr", "min_colorfulness": 0.8, **dict(selection or {})}
    if sel["rule"] not in RULES:
        raise ValueError(f"model.selection.rule={sel['rule']!r}: choose one of {list(RULES)}.")
    if not 0.0 <= float(sel["min_colorfulness"]) <= 2.0:
        raise ValueError(f"model.selection.min_colorfulness={sel['min_colorfulness']} must be a "
                         "fraction of the ground truth's colorfulness, e.g. 0.8.")
    return sel


def selection_score(metrics: dict[str, torch.Tensor], selection: dict, prefix: str = "val/"
                    ) -> torch.Tensor:
    """Validation metrics -> the score to maximise under ``selection``."""
    rule = selection["rule"]
    if rule == "ciede2000":
        return -metrics[f"{prefix}ciede2000"]
    psnr = metrics[f"{prefix}psnr"]
    if rule == "psnr":
        return psnr
    vivid = metrics[f"{prefix}colorfulness"] >= (float(selection["min_colorfulness"])
                                                  * metrics[f"{prefix}colorfulness_gt"])
    return torch.where(vivid, psnr, psnr - PENALTY)


__all__ = ["RULES", "check_rule", "selection_score"]
