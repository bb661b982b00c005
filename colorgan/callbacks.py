"""Lightning callbacks: sample grids each validation epoch, and a resumable ``last.ckpt``."""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image


def logging_step(trainer: pl.Trainer) -> int:
    """The x axis Lightning logs scalars at: training batches done (in validation, the last
    one's index). Not ``global_step``, which counts the steps of both optimizers under manual
    optimization. Lightning's own LearningRateMonitor logs at this same counter."""
    return int(trainer.fit_loop.epoch_loop._batches_that_stepped)


def sample_grid(gray: torch.Tensor, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Three rows (gray input / generated / ground truth), one column per image -> (3, H', W')."""
    n = gray.shape[0]
    return make_grid(torch.cat([gray, fake, real], 0).clamp(0, 1), nrow=n, padding=2, pad_value=1.0)


class SampleGridCallback(pl.Callback):
    """Saves ``samples/epoch_XXX_step_XXXXXX.png`` in the run folder and logs it to TensorBoard /
    W&B, at the same step as the validation scalars."""

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        samples = getattr(pl_module, "val_samples", None)
        if samples is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        grid = sample_grid(samples["gray"], samples["fake"], samples["real"])
        step = logging_step(trainer)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"epoch_{trainer.current_epoch:03d}_step_{step:06d}.png")
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("val/samples", grid, global_step=step)
            elif isinstance(logger, WandbLogger):
                logger.log_image("val/samples", [grid], step=step,
                                 caption=["rows: gray input / generated / ground truth"])


class LastCheckpoint(pl.Callback):
    """Keeps ``last.ckpt`` resumable: rewritten at the end of every training epoch, every
    ``every_n_batches`` training batches (0: off) and when training ends.

    Lightning's ``ModelCheckpoint(save_last=True)`` rewrites it only when a top-k checkpoint
    is saved, so after a crash it would resume from the best epoch, not the last one.
    """

    def __init__(self, dirpath: str | Path, filename: str = "last.ckpt",
                 every_n_batches: int = 0) -> None:
        if int(every_n_batches) < 0:
            raise ValueError(f"callbacks.last_checkpoint.every_n_batches={every_n_batches} must "
                             "be >= 0 (0: only at the end of each epoch).")
        self.path = Path(dirpath) / filename
        self.every_n_batches = int(every_n_batches)
        self.last_model_path: str | None = None
        self._saved_step = -1

    def _save(self, trainer: pl.Trainer) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run:
            return
        # the full state (optimizers, loops), so the run resumes; every rank calls it, rank 0 writes
        trainer.save_checkpoint(self.path, weights_only=False)
        self.last_model_path, self._saved_step = str(self.path), trainer.global_step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs,
                           batch, batch_idx: int) -> None:
        done = logging_step(trainer) + 1  # this batch is not counted yet
        if self.every_n_batches and done % self.every_n_batches == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step != self._saved_step:  # max_steps ended training inside an epoch
            self._save(trainer)
