"""``_target_`` configs without Hydra: the allow-list a checkpoint's hyper-parameters are held
to, and a small ``instantiate`` (``hydra.utils.instantiate``'s rules for nested targets,
``_partial_`` and ``_args_``) so inference builds netG with torch alone.
"""
from __future__ import annotations

import functools
import importlib
from typing import Any

# classes a checkpoint's hyper-parameters may name: colorgan's networks, torch's optimizers
SAFE_TARGETS = ("colorgan.models.", "torch.optim.")


class ConfigError(ValueError):
    """A bad option: the message names the option, the value and what to do."""


def check_targets(hparams: Any, source: str, key: str = "") -> None:
    """Refuse hyper-parameters that name a class outside colorgan's models / torch's optimizers
    (a crafted checkpoint could otherwise run any importable callable), before instantiating."""
    if isinstance(hparams, dict):
        target = hparams.get("_target_")
        if target is not None and not str(target).startswith(SAFE_TARGETS):
            raise ConfigError(f"{source}: its hyper-parameters name {key or 'a'}._target_="
                              f"{target!r}, which is not a colorgan network or a torch "
                              "optimizer; refusing to build it. Use a checkpoint saved by "
                              "colorgan's training.")
        for k, v in hparams.items():
            check_targets(v, source, f"{key}.{k}" if key else str(k))
    elif isinstance(hparams, (list, tuple)):
        for i, v in enumerate(hparams):
            check_targets(v, source, f"{key}[{i}]")


def locate(path: str) -> Any:
    """``'pkg.module.Name'`` -> the object (the longest importable module prefix, then attrs)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ConfigError(f"_target_={path!r}: no importable module in that name.")


def _build(node: Any) -> Any:
    if isinstance(node, dict):
        if "_target_" in node:
            return instantiate(node)
        return {k: _build(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_build(v) for v in node]
    return node


def instantiate(config: dict, **kwargs: Any) -> Any:
    """Build ``config['_target_']`` with its other keys (and ``kwargs``) as arguments."""
    cfg = {**dict(config), **kwargs}
    target = locate(str(cfg.pop("_target_")))
    partial = bool(cfg.pop("_partial_", False))
    cfg.pop("_recursive_", None)
    cfg.pop("_convert_", None)
    args = [_build(a) for a in cfg.pop("_args_", [])]
    params = {k: _build(v) for k, v in cfg.items()}
    if partial:
        return functools.partial(target, *args, **params)
    return target(*args, **params)
