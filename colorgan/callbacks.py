"""Lightning callbacks: sample grids each validation epoch."""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image


def sample_grid(gray: torch.Tensor, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Three rows (gray input / generated / ground truth), one column per image -> (3, H', W')."""
    n = gray.shape[0]
    return make_grid(torch.cat([gray, fake, real], 0).clamp(0, 1), nrow=n, padding=2, pad_value=1.0)


class SampleGridCallback(pl.Callback):
    """Saves ``samples/epoch_XXX.png`` in the run folder and logs it to TensorBoard / W&B."""

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        samples = getattr(pl_module, "val_samples", None)
        if samples is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        grid = sample_grid(samples["gray"], samples["fake"], samples["real"])
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"epoch_{trainer.current_epoch:03d}_step_{trainer.global_step:06d}.png"
        save_image(grid, path)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("val/samples", grid, global_step=trainer.global_step)
            elif isinstance(logger, WandbLogger):
                logger.log_image("val/samples", [grid], step=trainer.global_step,
                                 caption=["rows: gray input / generated / ground truth"])
