"""Config helpers: where configs live, early validation, callback/logger instantiation, and
config errors printed as one message (not Hydra's traceback)."""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.errors import HydraException, InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from colorgan.utils.checkpoint_file import checkpoint_problem
from colorgan.utils.options import check_options
from colorgan.utils.targets import SAFE_TARGETS, ConfigError, check_targets  # noqa: F401

CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


def check_config(cfg: DictConfig, model: pl.LightningModule | None = None) -> None:
    """Fail fast, before any training, with a message that names the option."""
    if model is None:  # every model/data/trainer option against its default's type and range
        check_options(cfg, ConfigError)
    if cfg.get("ckpt_path") is not None and cfg.get("init_from") is not None:
        raise ConfigError(f"ckpt_path={cfg.ckpt_path} and init_from={cfg.init_from} were both "
                          "given: ckpt_path resumes a run exactly (optimizers, epoch), init_from "
                          "starts a new run from a checkpoint's weights. Keep one of them.")
    for option in ("ckpt_path", "init_from"):
        ckpt = cfg.get(option)
        problem = None if ckpt is None else checkpoint_problem(str(ckpt), option)
        if problem is not None:  # missing, a folder, empty, text, truncated, another zip
            raise ConfigError(problem)
    for opt in ("optimizer_G", "optimizer_D"):
        lr = ((cfg.get("model") or {}).get(opt) or {}).get("lr")
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr < 0:
            raise ConfigError(f"model.{opt}.lr={lr}: a learning rate must be >= 0 "
                              "(pix2pix uses 2e-4).")
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


def instantiate_callbacks(cfg: DictConfig | None) -> list:
    """Every ``_target_`` entry of a config group (``callbacks``, ``logger``), built."""
    return [hydra.utils.instantiate(c) for c in (cfg or {}).values() if c and "_target_" in c]


instantiate_loggers = instantiate_callbacks


USER_ERRORS = (ConfigError, ValueError, FileNotFoundError, HydraException,
               OmegaConfBaseException)


def _message(e: BaseException) -> str:
    """The innermost user error: instantiate wraps each nested level (netG inside the model)."""
    while isinstance(e, InstantiationException) and isinstance(e.__cause__, USER_ERRORS):
        e = e.__cause__
    return str(e)


def short_errors(hydra_main: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap a ``@hydra.main`` function: a config error prints its message alone (exit 1)."""
    @functools.wraps(hydra_main)
    def run() -> Any:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            return hydra_main()
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing a trace
        try:
            return hydra_main()
        except USER_ERRORS as e:
            print(f"error: {_message(e)}\n(HYDRA_FULL_ERROR=1 shows the full traceback)",
                  file=sys.stderr)
            sys.exit(1)
        finally:
            os.environ.pop("HYDRA_FULL_ERROR", None)
    return run
