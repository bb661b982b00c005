"""Config helpers: where configs live, early validation, callback/logger instantiation."""
from __future__ import annotations

from pathlib import Path

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


class ConfigError(ValueError):
    """A bad option: the message names the option, the value and what to do."""


def check_config(cfg: DictConfig, model: pl.LightningModule | None = None) -> None:
    """Fail fast, before any training, with a message that names the option."""
    ckpt = cfg.get("ckpt_path")
    if ckpt is not None and not Path(str(ckpt)).is_file():
        raise ConfigError(f"ckpt_path={ckpt} does not exist (resolved from {Path.cwd()}). "
                          "Pass the path of a .ckpt file, e.g. "
                          "ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt, or drop it.")
    size = cfg.get("data", {}).get("image_size")
    if model is not None and size is not None:
        multiple = getattr(model.netG, "size_multiple", 1)
        if int(size) % multiple:
            name = cfg.model.netG.get("_target_", "?").rsplit(".", 1)[-1]
            raise ConfigError(
                f"data.image_size={size} cannot be used with this generator ({name}, "
                f"model.netG): its depth needs an image size divisible by {multiple}. "
                f"Set data.image_size to a multiple of {multiple} "
                f"(e.g. {max(multiple, int(size) // multiple * multiple)}) "
                "or pick a shallower model/netG (unet_64, unet_32, resnet_9).")


def instantiate_callbacks(cfg: DictConfig | None) -> list[pl.Callback]:
    if not cfg:
        return []
    return [hydra.utils.instantiate(c) for c in cfg.values() if c and "_target_" in c]


def instantiate_loggers(cfg: DictConfig | None) -> list:
    if not cfg:
        return []
    return [hydra.utils.instantiate(c) for c in cfg.values() if c and "_target_" in c]
