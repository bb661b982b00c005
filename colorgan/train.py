"""Training entry point: ``python train.py model=unet_gan data=places365`` (or ``colorgan-train``).

Checks the config before training starts, fits, measures the chosen checkpoint on val and
test (:mod:`colorgan.protocol`), writes ``metrics.json`` and ``MODEL_CARD.md`` into the run
folder and returns ``optimized_metric`` (a val metric) for sweeps.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from colorgan.callbacks import LastCheckpoint, ModelCardCallback
from colorgan.finetune import check_init_from, check_resume, load_init_weights, started_from
from colorgan.model_card import render_markdown
from colorgan.models.pretrained import weights_from_checkpoint
from colorgan.plots import plot_training_curves
from colorgan.protocol import chosen_checkpoint, final_metrics, protocol, split_label, title
from colorgan.utils.atomic import write_text_atomic
from colorgan.utils.config import (
    CONFIG_DIR,
    check_config,
    instantiate_callbacks,
    instantiate_loggers,
    short_errors,
)
from colorgan.utils.launch import register_resolvers
from colorgan.utils.wandb import finish_wandb

log = logging.getLogger("colorgan")


def metrics_summary(metrics: dict[str, float], prefix: str = "val/") -> dict[str, Any]:
    """Flat ``val/...`` metrics -> {"model": {...}, "gray_baseline": {...}, "colorfulness_gt"}."""
    m = {k[len(prefix):]: float(v) for k, v in metrics.items() if k.startswith(prefix)}
    keys = ("psnr", "ssim", "colorfulness", "delta_colorfulness")  # Delta CF: |CF - CF_gt|
    return {
        "model": {k: m[k] for k in keys if k in m},
        "gray_baseline": {k: m[f"gray_{k}"] for k in keys if f"gray_{k}" in m},
        "colorfulness_gt": m.get("colorfulness_gt"),
    }


def checkpoint_summary(trainer: pl.Trainer) -> dict[str, Any]:
    """``last_checkpoint`` (:class:`LastCheckpoint`) and ModelCheckpoint's best, its metric, score."""
    last = next((c.last_model_path for c in trainer.callbacks if isinstance(c, LastCheckpoint)),
                None)
    best = trainer.checkpoint_callback
    score = getattr(best, "best_model_score", None)
    return {"last_checkpoint": last,
            "best_checkpoint": getattr(best, "best_model_path", None) or None,
            "best_monitor": getattr(best, "monitor", None),
            "best_score": None if score is None else float(score)}


def train(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit one model; returns (the final ``val/...`` and ``test/...`` metrics of the checkpoint
    the run chose, objects): ``objects["model"]`` then holds those chosen weights."""
    check_config(cfg)  # every bad option fails here, before any training starts
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    if cfg.get("ckpt_path"):  # resume exactly: the same architecture, or a message naming both
        check_resume(cfg.ckpt_path, model_cfg)
    init = check_init_from(cfg.init_from, model_cfg) if cfg.get("init_from") else None
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if rank_zero_only.rank == 0:  # DDP: every file of the run folder is written once
        (out_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    datamodule = hydra.utils.instantiate(cfg.data)
    resuming = cfg.get("ckpt_path") is not None or init is not None  # its weights replace pretrained ones
    with weights_from_checkpoint() if resuming else contextlib.nullcontext():
        model = hydra.utils.instantiate(cfg.model, _recursive_=False,
                                        train_image_size=int(cfg.data.image_size))
    check_config(cfg, model=model)
    if init is not None:  # fine-tune: the weights only; optimizers and epoch start fresh
        load_init_weights(model, cfg.init_from, init)
    datamodule.size_multiple = int(getattr(model.netG, "size_multiple", 1))  # wide crops' rounding
    card = ModelCardCallback(OmegaConf.to_container(cfg.data, resolve=True),
                             started_from(cfg.get("ckpt_path"), cfg.get("init_from"), init))
    del init
    callbacks = [*instantiate_callbacks(cfg.get("callbacks")), card]
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    objects = {"cfg": cfg, "datamodule": datamodule, "model": model, "trainer": trainer}
    t0 = time.time()
    metrics: dict[str, float] = {}
    try:
        if cfg.get("train", True):
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        train_time = time.time() - t0
        evaluated, which = (chosen_checkpoint(trainer) if cfg.get("train", True)
                            else (cfg.get("ckpt_path"), "given"))
        if cfg.get("validate_after_fit", True):  # the chosen weights on val, then on test
            metrics = final_metrics(trainer, model, datamodule, evaluated)
        proto = protocol(trainer, model, datamodule, which,
                         OmegaConf.to_container(cfg.data, resolve=True), cfg.get("seed"))
        summaries = {s: metrics_summary(metrics, f"{s}/") if any(k.startswith(f"{s}/")
                                                                 for k in metrics) else None
                     for s in ("val", "test")}
        payload = {
            **(summaries[proto["reported"]] or metrics_summary({})),  # the split to report
            "split": proto["reported"], "val": summaries["val"], "test": summaries["test"],
            "protocol": proto, "evaluated_checkpoint": evaluated,
            "metrics": metrics,
            "train_time_s": round(train_time, 2),
            "global_step": int(trainer.global_step),
            "epochs": int(trainer.current_epoch),
            "status": "ok",
            **checkpoint_summary(trainer),
            "selection": getattr(model, "selection", None),  # the rule behind best_checkpoint
        }
        if not trainer.is_global_zero:  # metrics are already reduced over all ranks
            return metrics, objects
        write_text_atomic(out_dir / "metrics.json", json.dumps(payload, indent=2))
        if cfg.get("train", True):  # the final scores into the chosen checkpoint's card
            final = card.finish(trainer, metrics, evaluated, [payload["last_checkpoint"],
                                                              payload["best_checkpoint"]])
            write_text_atomic(out_dir / "MODEL_CARD.md", render_markdown(final, dict(model.hparams)))
        for lg in loggers:  # loss curves + val PSNR vs gray baseline, as a picture
            if isinstance(lg, CSVLogger):
                plot_training_curves(Path(lg.log_dir) / "metrics.csv", out_dir / "curves.png")
        if metrics:
            print(f"\n{final_table(proto, evaluated, summaries)}\n({out_dir})\n", flush=True)
    finally:
        finish_wandb()
    return metrics, objects


def final_table(proto: dict[str, Any], evaluated: str | None,
                summaries: dict[str, dict | None]) -> str:
    """The console's final table: test first (reported), then val labelled as what chose."""
    from colorgan.eval import COLUMNS, format_table  # eval.py imports this module

    parts = [f"{title(proto, evaluated)}:"]
    for split in ("test", "val"):
        if summaries.get(split):
            parts += ["", f"{split_label(split, proto)}",
                      format_table(summaries[split], columns=COLUMNS[:4])]
    return "\n".join(parts)


register_resolvers()  # ${job_gpu:} (trainer=gpu_per_job)


@short_errors  # a config error: its message alone, not Hydra's traceback
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    metrics, _ = train(cfg)
    name = cfg.get("optimized_metric")
    return metrics.get(name) if name else None


if __name__ == "__main__":
    main()
