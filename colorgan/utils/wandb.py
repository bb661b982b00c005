"""W&B logger that never blocks: offline unless wandb's own settings say online. In a multirun
each job is its own run and the jobs of one sweep share a W&B group.
"""
from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.loggers import WandbLogger

log = logging.getLogger("colorgan")
OFFLINE_MODES = ("offline", "disabled", "dryrun")


def wandb_configured() -> bool:
    """True when wandb's own settings say online and it has credentials for its server, as
    ``wandb.init`` would decide (no prompt, no network access)."""
    import wandb

    settings = wandb.setup().settings  # reads the environment and the settings files
    if str(settings.mode).lower() in OFFLINE_MODES:
        return False
    if "prompt" in inspect.signature(wandb.login).parameters:
        return bool(wandb.login(prompt=False, verify=False))
    # older wandb (no `prompt`, login could ask): look the key up where it does
    import requests

    return bool(os.environ.get("WANDB_API_KEY")
                or requests.utils.get_netrc_auth(str(settings.base_url)))


def sweep_identity(sweep_name: str | None = None) -> tuple[str | None, str | None]:
    """(group, run name) of a Hydra multirun job; (None, None) outside a multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):  # Hydra not initialised (plain Python use)
        return None, None
    if hc.mode != RunMode.MULTIRUN:
        return None, None
    folder = Path(str(hc.sweep.dir)).name
    group = f"{sweep_name}-{folder}" if sweep_name else folder
    return group, f"{hc.job.num}: {hc.job.override_dirname}"[:120]


class SafeWandbLogger(WandbLogger):
    """A ``WandbLogger`` that falls back to offline when the online run cannot start."""

    @property
    def experiment(self):  # type: ignore[override]
        try:
            return super().experiment
        except Exception as e:
            if self._offline:
                raise
            log.warning("W&B could not start online (%s); logging offline instead. "
                        "Upload later with `wandb sync %s`.", e, self.save_dir)
            self._offline = True
            os.environ["WANDB_MODE"] = "offline"
            self._wandb_init["mode"] = "offline"
            return super().experiment


def make_wandb_logger(offline: bool | None = None, group: str | None = None,
                      name: str | None = None, sweep_name: str | None = None,
                      init_timeout: float = 30.0, **kwargs: Any) -> WandbLogger:
    """Build the W&B logger; ``offline=None`` picks offline unless W&B is configured;
    ``init_timeout`` bounds the wait for an online run before falling back to offline."""
    import wandb

    os.environ.setdefault("WANDB_SILENT", "true")
    if offline is None:
        offline = not wandb_configured()
    if offline:
        os.environ["WANDB_MODE"] = "offline"
    auto_group, auto_name = sweep_identity(sweep_name)
    save_dir = kwargs.pop("save_dir", ".")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("settings", wandb.Settings(init_timeout=float(init_timeout)))
    return SafeWandbLogger(offline=offline, save_dir=save_dir, group=group or auto_group,
                           name=name or auto_name, **kwargs)


def log_wandb_image(loggers: list, key: str, grid: torch.Tensor, step: int | None = None,
                    caption: str = "rows: gray input / generated / ground truth") -> None:
    """Log an image grid (3, H, W) in [0, 1] to every W&B logger among ``loggers``."""
    for lg in loggers:
        if isinstance(lg, WandbLogger):
            lg.log_image(key, [grid], step=step, caption=[caption])


def finish_wandb() -> None:
    """Close the active run so each multirun job is its own W&B run."""
    try:
        import wandb
    except ImportError:  # pragma: no cover - wandb is a dependency
        return
    if wandb.run is not None:
        wandb.finish()
