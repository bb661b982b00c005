"""Checkpoint selection that does not reward dullness: ``model.selection`` turns the val metrics
into ``val/select`` (higher is better): ``psnr``, ``ciede2000`` (negated) or ``psnr_vivid`` (PSNR
- 100 for epochs less colourful than ``min_colorfulness`` x the truth's).
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
