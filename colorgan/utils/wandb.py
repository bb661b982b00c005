"""W&B logger that never blocks: offline unless the user has configured W&B."""
from __future__ import annotations

import os
from pathlib import Path


def wandb_configured() -> bool:
    """True when W&B credentials exist (env key or a netrc entry) and WANDB_MODE is not offline."""
    if os.environ.get("WANDB_MODE", "").lower() in ("offline", "disabled", "dryrun"):
        return False
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def make_wandb_logger(offline: bool | None = None, **kwargs):
    """Build a ``WandbLogger``; ``offline=None`` picks offline unless W&B is configured."""
    from pytorch_lightning.loggers import WandbLogger

    if offline is None:
        offline = not wandb_configured()
    if offline:
        os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    Path(kwargs.get("save_dir", ".")).mkdir(parents=True, exist_ok=True)
    return WandbLogger(offline=offline, **kwargs)


def finish_wandb() -> None:
    """Close the active run so each multirun job is its own W&B run."""
    try:
        import wandb
    except ImportError:  # pragma: no cover - wandb is a dependency
        return
    if wandb.run is not None:
        wandb.finish()
