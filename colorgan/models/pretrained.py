"""timm encoders for :class:`colorgan.models.timm_unet.TimmUNet`, with their weights from
timm's published set (``model.netG.pretrained=true``, needs the internet once), a local file
(``model.netG.pretrained=PATH``: a state dict or ``.safetensors``) or none (``false``); a
network rebuilt from a checkpoint loads nothing (:func:`weights_from_checkpoint`).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

log = logging.getLogger("colorgan")
OPTION = "model.netG.pretrained"
_LOAD = contextvars.ContextVar("colorgan_load_pretrained", default=True)
_NETWORK_MODULES = ("httpx", "httpcore", "requests", "urllib3", "huggingface_hub")
_SHOWN = 8  # keys listed in a mismatch message


@contextlib.contextmanager
def weights_from_checkpoint():
    """Build networks without loading pretrained weights (a checkpoint supplies them)."""
    token = _LOAD.set(False)
    try:
        yield
    finally:
        _LOAD.reset(token)


def pretrained_source(value: Any) -> bool | str:
    """``model.netG.pretrained`` -> False, True or a file path."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip()
    if text.lower() in ("true", "false", "null", "none", ""):
        return text.lower() == "true"
    return text


def create_encoder(name: str, pretrained: Any = False) -> nn.Module:
    """``timm.create_model(name, features_only=True)`` with the weights ``pretrained`` names."""
    import timm  # on use: timm imports W&B when installed
    if not timm.is_model(str(name)):
        raise ValueError(f"model.netG.encoder={name!r} is not a timm model. List them with "
                         "python -c \"import timm; print(timm.list_models('resnet*'))\" "
                         "(e.g. resnet34, convnext_tiny, efficientnet_b0).")
    source = pretrained_source(pretrained) if _LOAD.get() else False
    if isinstance(source, str):
        return _from_file(str(name), Path(source).expanduser())
    if source:
        return _from_timm(str(name))
    return _features(name, pretrained=False)


def _features(name: str, **kw) -> nn.Module:
    import timm  # on use: timm imports W&B when installed
    try:
        return timm.create_model(name, features_only=True, **kw)
    except (RuntimeError, NotImplementedError, TypeError, AssertionError) as e:
        raise ValueError(f"model.netG.encoder={name!r}: timm cannot build it with "
                         f"features_only=True ({type(e).__name__}: {str(e).splitlines()[0]}). "
                         "Pick a convolutional encoder such as resnet34, convnext_tiny or "
                         "efficientnet_b0.") from None


def _is_network_error(e: BaseException) -> bool:
    return isinstance(e, (OSError, ConnectionError, TimeoutError)) or \
        type(e).__module__.split(".")[0] in _NETWORK_MODULES


def _from_timm(name: str) -> nn.Module:
    """timm's published weights: from the Hugging Face hub (or its URL), cached after once."""
    import timm  # on use: timm imports W&B when installed
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not (getattr(cfg, "hf_hub_id", None) or getattr(cfg, "url", None)):
        raise ValueError(f"{OPTION}=true: timm publishes no weights for {name}. Use "
                         f"{OPTION}=PATH (a local state dict) or {OPTION}=false.")
    try:
        return _features(name, pretrained=True)
    except Exception as e:  # noqa: BLE001 - sorted below: offline, or a real error
        if not _is_network_error(e):
            raise
        raise ValueError(
            f"{OPTION}=true: could not download the {name} weights through timm "
            f"({type(e).__name__}; no internet here?). Run once on a machine with internet "
            "(timm caches them under ~/.cache/huggingface), or pass a local file with "
            f"{OPTION}=PATH (a state dict or .safetensors, docs/pretrained.md), or "
            f"{OPTION}=false to start from random weights.") from None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A ``.safetensors`` file or a ``torch.save``'d state dict (``{"state_dict": ...}`` and
    ``{"model": ...}`` wrappers and DDP's ``module.`` prefix accepted)."""
    if not path.is_file():
        raise ValueError(f"{OPTION}={path}: no such file (resolved from {Path.cwd()}). Pass the "
                         "path of a state dict or .safetensors file of the encoder, or "
                         f"{OPTION}=true to download timm's weights (internet).")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any read error means "not a weights file"
        raise ValueError(f"{OPTION}={path} is not a readable state dict or .safetensors file "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]}).") from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(torch.is_tensor(v) for v in sd.values()):
        raise ValueError(f"{OPTION}={path} holds no state dict (a mapping of names to tensors).")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _mismatch(own: dict[str, torch.Tensor], sd: dict[str, torch.Tensor]) -> tuple[list, list]:
    """(keys of ``own`` absent from ``sd``, keys present with another shape)."""
    missing = [k for k in own if k not in sd]
    shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in sd and sd[k].shape != v.shape]
    return missing, shapes


def _listed(keys: list[str]) -> str:
    more = f", ... ({len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def _from_file(name: str, path: Path) -> nn.Module:
    """Encoder weights from ``path``: the features-only encoder's keys, or timm's full model's."""
    import timm  # on use: timm imports W&B when installed
    sd = read_state_dict(path)
    encoder = _features(name, pretrained=False)
    own = encoder.state_dict()
    missing, shapes = _mismatch(own, sd)
    if not missing and not shapes:
        encoder.load_state_dict({k: sd[k] for k in own})
        _report_ignored(path, [k for k in sd if k not in own])
        return encoder
    body = timm.create_model(name, pretrained=False, num_classes=0).state_dict()
    body_missing, body_shapes = _mismatch(body, sd)
    if not body_missing and not body_shapes:  # a classification model's state dict
        _report_ignored(path, [k for k in sd if k not in body])
        return _features(name, pretrained=True,
                         pretrained_cfg_overlay={"state_dict": {k: sd[k] for k in body}})
    unexpected = [k for k in sd if k not in own and k not in body]
    parts = [f"missing {len(missing)} of the encoder's {len(own)} keys ({_listed(missing)})"]
    if unexpected:
        parts.append(f"unexpected keys ({_listed(unexpected)})")
    if shapes:
        parts.append(f"other shapes, file vs encoder ({_listed(shapes)})")
    raise ValueError(
        f"{OPTION}={path} does not fit the timm encoder {name} (model.netG.encoder): "
        + "; ".join(parts) + ". Save the weights of the same architecture, e.g. "
        f"torch.save(timm.create_model('{name}', pretrained=True).state_dict(), PATH) on a "
        f"machine with internet, or set model.netG.encoder to the file's architecture.")


def _report_ignored(path: Path, keys: list[str]) -> None:
    if keys:
        log.info("%s=%s: %d keys not used by the features-only encoder ignored (%s)", OPTION,
                 path, len(keys), _listed(keys))


__all__ = ["create_encoder", "pretrained_source", "read_state_dict", "weights_from_checkpoint"]
