"""Lightning callbacks: validation sample grids, a resumable ``last.ckpt``, the model card."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image

from colorgan import model_card as mc
from colorgan.utils.atomic import atomic_output

log = logging.getLogger("colorgan")


def logging_step(trainer: pl.Trainer) -> int:
    """Lightning's x axis for scalars: training batches done (``global_step`` counts both optimizers)."""
    return int(trainer.fit_loop.epoch_loop._batches_that_stepped)


def sample_grid(gray: torch.Tensor, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Three rows (gray input / generated / ground truth), one column per image -> (3, H', W')."""
    n = gray.shape[0]
    return make_grid(torch.cat([gray, fake, real], 0).clamp(0, 1), nrow=n, padding=2, pad_value=1.0)


class SampleGridCallback(pl.Callback):
    """Saves ``samples/epoch_XXX_step_XXXXXX.png`` and logs it to TensorBoard / W&B."""

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
    """Keeps ``last.ckpt`` resumable: rewritten at every training epoch's end, every
    ``every_n_batches`` batches (0: off) and when training ends (Lightning's ``save_last`` only
    when a top-k checkpoint is saved)."""

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


def _size(dataset: Any) -> int | None:
    return None if dataset is None else len(dataset)


class ModelCardCallback(pl.Callback):
    """Puts ``checkpoint["model_card"]`` (:mod:`colorgan.model_card`) into every checkpoint."""

    def __init__(self, data_cfg: dict, started_from: dict | None = None) -> None:
        self.data_cfg = dict(data_cfg)
        self.started_from = started_from or {"mode": "scratch"}
        self.code = mc.code_version()  # once per run: git is not asked at every save
        self._t0: float | None = None
        self._time_before = 0.0  # a resumed run's time before this process
        self._val: dict | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._t0 = time.time()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict) -> None:  # resume: keep counting the run's time
        if trainer.state.fn != "fit":  # train.py's final val/test loading the chosen checkpoint
            return
        card = checkpoint.get("model_card") or {}
        self._time_before = float((card.get("training") or {}).get("time_s") or 0.0)
        self._val = (card.get("metrics") or {}).get("val")
        before = (card.get("training") or {}).get("started_from") or {}
        if before.get("mode") not in (None, "scratch"):  # a resumed fine-tune stays one
            self.started_from["origin"] = before.get("origin", before)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:  # before ModelCheckpoint (Lightning runs it last)
            self._val = mc.val_metrics(dict(trainer.callback_metrics),
                                       _size(getattr(trainer.datamodule, "data_val", None)),
                                       trainer.current_epoch + 1, trainer.global_step, final=False)

    def card(self, trainer: pl.Trainer, val: dict | None = None) -> dict[str, Any]:
        dm = trainer.datamodule
        sizes = {s: _size(getattr(dm, f"data_{s}", None)) for s in ("train", "val", "test")}
        elapsed = self._time_before + (time.time() - self._t0 if self._t0 is not None else 0.0)
        device = trainer.strategy.root_device
        return {
            "format": mc.CARD_FORMAT, "written": mc.utc_now(), "code": self.code,
            "hardware": mc.hardware(device, accelerator=device.type, devices=trainer.num_devices,
                                    precision=str(trainer.precision), lightning=pl.__version__),
            "data": mc.data_card(self.data_cfg, sizes),
            "training": {"time_s": round(elapsed, 2), "epochs": int(trainer.current_epoch),
                         "global_step": int(trainer.global_step),
                         "started_from": self.started_from},
            "metrics": {"val": val or self._val, "test": None, "test_note": mc.TEST_NOT_MEASURED},
        }

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict) -> None:
        checkpoint["model_card"] = self.card(trainer)

    def finish(self, trainer: pl.Trainer, metrics: dict[str, float], evaluated: str | None,
               paths: list[str | None]) -> dict[str, Any]:
        """train.py's final val and test scores of the chosen weights (the file ``evaluated``;
        None: those in memory) into the card of every checkpoint in ``paths`` with the same
        global step, rewritten atomically. Returns the evaluated checkpoint's card."""
        dm = trainer.datamodule
        step, epochs = int(trainer.global_step), int(trainer.current_epoch)
        files = {}
        for path in dict.fromkeys(p for p in [evaluated, *paths] if p and Path(p).is_file()):
            try:
                files[path] = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception as e:  # noqa: BLE001 - the run's results are saved already
                _card_warning(path, e)
        if evaluated in files:  # that checkpoint's own step: the best may be an earlier epoch
            step, epochs = int(files[evaluated]["global_step"]), int(files[evaluated]["epoch"]) + 1
        scores = {s: mc.val_metrics(metrics, _size(getattr(dm, f"data_{s}", None)), epochs, step,
                                    final=True, split=s) for s in ("val", "test")}
        has_test = getattr(dm, "data_test", None) is not None
        scores["test_note"] = None if scores["test"] else (
            mc.TEST_NOT_MEASURED if has_test else mc.NO_TEST_SPLIT)
        card = None
        for path, ckpt in files.items():
            if ckpt.get("global_step") != step:  # other weights: its card keeps its own scores
                continue
            ckpt["model_card"] = {**(ckpt.get("model_card") or self.card(trainer)),
                                  "metrics": scores, "written": mc.utc_now()}
            try:
                with atomic_output(Path(path), overwrite=True) as tmp:  # whole or unchanged
                    torch.save(ckpt, tmp)
            except Exception as e:  # noqa: BLE001 - the run's results are saved already
                _card_warning(path, e)
            if card is None or path == evaluated:
                card = ckpt["model_card"]
        return card if card is not None else {**self.card(trainer), "metrics": scores}


def _card_warning(path: str, e: Exception) -> None:
    log.warning("could not write the final scores into the model card of %s (%s: %s); its "
                "card keeps the last validation during training.", path, type(e).__name__,
                str(e).splitlines()[0][:200] if str(e) else "")
