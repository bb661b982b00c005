"""Starting a run from a checkpoint: ``ckpt_path=`` (resume) and ``init_from=`` (weights only)
are checked against the run's architecture before anything is built, in one message naming both.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from colorgan.architecture import DISCRIMINATOR_KEYS, GENERATOR_KEYS, architecture, differences
from colorgan.utils.checkpoint_file import read_checkpoint as read_file
from colorgan.utils.config import ConfigError, check_targets

log = logging.getLogger("colorgan")
EMA_PREFIX = "netG_ema.module."


def read_checkpoint(path: str | Path, option: str) -> dict:
    """The checkpoint as plain data (the one reader: no code runs), checked to be colorgan's."""
    ckpt = read_file(path, option, ConfigError)  # names any other kind of file
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hp, dict) or "netG" not in hp or not isinstance(ckpt.get("state_dict"), dict):
        raise ConfigError(f"{option}={path} is not a colorgan training checkpoint (no netG "
                          "hyper-parameters / state_dict). Pass a .ckpt written by colorgan train.")
    check_targets(hp, f"{option}={path}")  # a crafted class name is refused before any import
    return ckpt


def _run_folder_hint(path: Path) -> str:
    config = path.resolve().parent.parent / "config.yaml"
    return f" (its run's options are in {config})" if config.is_file() else ""


def check_resume(path: str | Path, model_cfg: dict) -> None:
    """``ckpt_path=``: the run must build exactly the checkpoint's architecture."""
    saved, run = architecture(read_checkpoint(path, "ckpt_path")["hyper_parameters"]), \
        architecture(model_cfg)
    diff = differences(saved, run, tuple(saved))
    if diff:
        raise ConfigError(
            f"ckpt_path={path} cannot be resumed by this run: its architecture differs.\n  "
            + "\n  ".join(diff)
            + f"\nResume with the checkpoint's model options{_run_folder_hint(Path(path))}, or "
            "drop ckpt_path to train this architecture from scratch (init_from=CKPT starts from "
            "a checkpoint's weights when its generator matches).")


def check_init_from(path: str | Path, model_cfg: dict) -> dict:
    """``init_from=``: the generators must match; returns the checkpoint (plain data)."""
    ckpt = read_checkpoint(path, "init_from")
    saved, run = architecture(ckpt["hyper_parameters"]), architecture(model_cfg)
    diff = differences(saved, run, GENERATOR_KEYS)
    if diff:
        raise ConfigError(
            f"init_from={path}: its generator does not fit this run's.\n  " + "\n  ".join(diff)
            + "\nPick the checkpoint's generator options (model/netG=..., model.color_space="
            f"...){_run_folder_hint(Path(path))}, or drop init_from to train from scratch.")
    return ckpt


def _part(state: dict, prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _shapes_fit(net: torch.nn.Module, weights: dict[str, torch.Tensor]) -> bool:
    own = net.state_dict()
    return set(own) == set(weights) and all(own[k].shape == weights[k].shape for k in own)


def load_init_weights(model: torch.nn.Module, path: str | Path, ckpt: dict) -> dict[str, str]:
    """Copy the checkpoint's generator (its EMA weights when it has them) and matching
    discriminator into ``model``, nothing else. Returns what was loaded, in words."""
    state, saved = ckpt["state_dict"], architecture(ckpt["hyper_parameters"])
    has_ema = any(k.startswith(EMA_PREFIX) for k in state)
    weights = _part(state, EMA_PREFIX if has_ema else "netG.")
    if not _shapes_fit(model.netG, weights):
        raise ConfigError(f"init_from={path}: its generator weights do not fit the generator its "
                          "own hyper-parameters describe; the checkpoint is damaged or was not "
                          "saved by colorgan train.")
    model.netG.load_state_dict(weights)
    if getattr(model, "netG_ema", None) is not None:  # this run averages too: from the same start
        model.netG_ema.module.load_state_dict(weights)
        model.netG_ema.n_averaged.zero_()
    loaded = {"netG": "EMA generator" if has_ema else "generator"}
    why = None
    if model.netD is None:
        why = "this run has no discriminator (model.adversarial=false)"
    elif saved["netD"] is None:
        why = "the checkpoint has no discriminator; this run's starts fresh"
    elif differences(saved, architecture(dict(model.hparams)), DISCRIMINATOR_KEYS):
        why = "its discriminator options differ from this run's; this run's starts fresh"
    elif not _shapes_fit(model.netD, _part(state, "netD.")):
        why = "its discriminator weights do not fit this run's shapes; this run's starts fresh"
    else:
        model.netD.load_state_dict(_part(state, "netD."))
        loaded["netD"] = "discriminator"
    log.info("init_from=%s: netG from its %s%s; optimizers, schedules and the epoch counter "
             "start fresh.", path, loaded["netG"],
             ", netD from its discriminator" if "netD" in loaded else "")
    if why:
        log.warning("init_from=%s: netD not loaded: %s.", path, why)
        loaded["netD_not_loaded"] = why
    return loaded


def _short(path: Any) -> str:
    """``<run>/checkpoints/last.ckpt``: enough to tell runs apart, not the private full path."""
    return str(Path(*Path(str(path)).resolve().parts[-3:]))


def _data_name(data: dict) -> Any:
    return data.get("root_name") or str(data.get("target") or "").rsplit(".", 1)[-1] or None


def started_from(ckpt_path: Any, init_from: Any, init_ckpt: dict | None) -> dict[str, Any]:
    """The model card's ``training.started_from``: scratch, resumed, or fine-tuned from a checkpoint."""
    if init_from:
        base = (init_ckpt or {}).get("model_card") or {}
        return {"mode": "init_from", "checkpoint": _short(init_from),
                "base_data": _data_name(base.get("data") or {}),
                "base_commit": (base.get("code") or {}).get("commit")}
    if ckpt_path:
        return {"mode": "resume", "checkpoint": _short(ckpt_path)}
    return {"mode": "scratch"}


__all__ = ["check_init_from", "check_resume", "load_init_weights", "read_checkpoint",
           "started_from"]
