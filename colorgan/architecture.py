"""The architecture of a ColorizationGAN as plain data, from its hyper-parameters: what decides
the shapes of its weights. Compared by :mod:`colorgan.finetune`, printed by ``colorgan info``.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any


def _with_defaults(net: dict | None) -> dict | None:
    """A network config with its class's defaults filled in (older checkpoints compare equal)."""
    if not net or "_target_" not in net:
        return net
    module, _, name = str(net["_target_"]).rpartition(".")
    try:
        params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    except (ImportError, AttributeError, ValueError, TypeError):
        return dict(net)
    full = {k: p.default for k, p in params.items()
            if p.default is not inspect.Parameter.empty and k not in ("in_channels", "out_channels")}
    return {**full, **net}


def architecture(hp: dict, fill_defaults: bool = True) -> dict[str, Any]:
    """What decides the shapes of a ColorizationGAN's weights, from its hyper-parameters."""
    full = _with_defaults if fill_defaults else (lambda net: net)
    cls = dict(hp.get("classification") or {})
    cg = dict(hp.get("class_guidance") or {})
    adversarial = bool(hp.get("adversarial", True))
    return {
        "netG": full(hp.get("netG")),
        "color_space": hp.get("color_space", "lab"),
        "temporal": bool((hp.get("temporal") or {}).get("enabled", False)),
        "classification": ({"grid": float(cls.get("grid", 10.0)), "head_width": cls.get("head_width")}
                           if cls.get("enabled", False) else None),
        "netD": full(hp.get("netD")) if adversarial else None,
        "spectral_norm": bool(hp.get("spectral_norm", False)) if adversarial else None,
        "ema": bool((hp.get("ema") or {}).get("enabled", False)),
        "class_guidance": ({"hidden": cg.get("hidden", 256)} if cg.get("enabled", False) else None),
    }


GENERATOR_KEYS = ("netG", "color_space", "temporal", "classification")  # build_generator's inputs
DISCRIMINATOR_KEYS = ("netD", "spectral_norm")


def describe(key: str, value: Any) -> str:
    """``netG=UNetGenerator(num_downs=5, ngf=8, ...)``: one architecture entry, readably."""
    if isinstance(value, dict) and "_target_" in value:
        args = ", ".join(f"{k}={v}" for k, v in value.items() if k != "_target_")
        return f"{key}={str(value['_target_']).rsplit('.', 1)[-1]}({args})"
    return f"{key}={'none' if value is None else value}"


def differences(saved: dict, run: dict, keys: tuple[str, ...]) -> list[str]:
    """``model.KEY``: the checkpoint's ``...`` vs this run's ``...``, for each key that differs."""
    return [f"model.{k}: the checkpoint's {describe(k, saved[k])} vs this run's "
            f"{describe(k, run[k])}" for k in keys if saved[k] != run[k]]


__all__ = ["DISCRIMINATOR_KEYS", "GENERATOR_KEYS", "architecture", "describe", "differences"]
