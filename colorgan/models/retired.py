"""Switches the project's own study found negative, negligible or unstable, retired from the
code (experiments/quality keeps their tables; the code that measured them is at commit
3359f4c). A checkpoint trained with one still loads for inference: the switch is ignored and
one warning line says what the checkpoint uses instead."""
from __future__ import annotations

import warnings

# option -> (is it on?, what loading does without it)
RETIRED = {
    "rec_at_colour": (lambda v: v is not None, "a training loss only (-0.25 dB, table 22)"),
    "tta_shifts": (bool, "no shift averaging (+0.03 dB for 5-9x the passes, table 19); "
                         "model.tta_flip still applies"),
    "chroma_per_class": (bool, "its one calibrated model.chroma_gain for every photo instead of "
                               "per-class gains (-0.05 to -0.09 dB, tables 20-22); --chroma-gain "
                               "G (colorize) or chroma_gain=G (eval.py) sets another"),
    "class_guidance.labels": (lambda v: v == "colorfulness", "a training label source only"),
    "class_guidance.detach": (bool, "a training switch only"),
}


def _value(hp: dict, key: str):
    group, _, name = key.rpartition(".")
    return (hp.get(group) or {}).get(name) if group else hp.get(key)


def warn_retired(hp: dict, source: str) -> list[str]:
    """One warning line when a checkpoint's hyper-parameters ``hp`` have a retired switch on;
    returns the switches found (``model.key=value``)."""
    on = [(k, _value(hp, k)) for k, (is_on, _) in RETIRED.items() if is_on(_value(hp, k))]
    if on:
        warnings.warn(f"{source}: retired switch(es) ignored: " + "; ".join(
            f"model.{k}={v!r} -> {RETIRED[k][1]}" for k, v in on), stacklevel=2)
    return [f"model.{k}={v!r}" for k, v in on]


__all__ = ["RETIRED", "warn_retired"]
