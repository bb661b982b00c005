"""Evaluate a checkpoint: ``python eval.py ckpt_path=... data=cifar10`` (or ``colorgan eval``).

Writes ``metrics.json`` (the model's PSNR, SSIM, colorfulness, CIEDE2000, the gray baseline's
on the same images, the truth's colorfulness), ``metrics.md`` and ``samples.png`` into the run
folder. A folder without a test split is scored whole, and says so. ``hints.points=N``: colorize
with simulated hints, the classic hint baselines as extra rows (:mod:`colorgan.hints.evaluation`).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from torchvision.utils import save_image

from colorgan.callbacks import sample_grid
from colorgan.feature_metrics import FeatureMetrics
from colorgan.hints.evaluation import (
    BASELINE_LABELS,
    EVAL_SIDE,
    HintOptions,
    baseline_metrics,
    hint_options,
    make_eval_hints,
)
from colorgan.models.gan_module import ColorizationGAN
from colorgan.protocol import is_training_data, split_mismatch
from colorgan.train import metrics_summary
from colorgan.utils.atomic import atomic_output, write_text_atomic
from colorgan.utils.checkpoint_file import one_line, read_checkpoint
from colorgan.utils.config import (
    CONFIG_DIR,
    ConfigError,
    check_config,
    check_targets,
    instantiate_loggers,
    short_errors,
)
from colorgan.utils.wandb import finish_wandb, log_wandb_image

log = logging.getLogger("colorgan")
SPLITS = ("test", "val")
COLUMNS = (("psnr", "PSNR (dB)", 2), ("ssim", "SSIM", 4), ("colorfulness", "colorfulness", 2),
           ("delta_colorfulness", "ΔCF", 2), ("ciede2000", "CIEDE2000", 2))
FEATURE_COLUMNS = (("fid", "FID", 2), ("lpips", "LPIPS", 4))  # metrics.fid / metrics.lpips


def summarize(metrics: dict[str, float], split: str) -> dict[str, Any]:
    """Flat ``test/...`` metrics -> model / gray_baseline / colorfulness_gt (CIEDE2000, FID, LPIPS)."""
    prefix = f"{split}/"
    summary = metrics_summary(metrics, prefix=prefix)
    for key, name in (("model", "ciede2000"), ("gray_baseline", "gray_ciede2000"),
                      ("model", "fid"), ("model", "lpips")):
        if f"{prefix}{name}" in metrics:
            summary[key][name.removeprefix("gray_")] = float(metrics[f"{prefix}{name}"])
    return summary


def format_table(summary: dict[str, Any], model_label: str = "model", columns=COLUMNS) -> str:
    """Markdown: model, gray baseline, the hint baselines (``hint_baselines``, eval with hints)
    and ground truth rows; FID / LPIPS columns when measured."""
    columns = columns + tuple(c for c in FEATURE_COLUMNS if c[0] in (summary.get("model") or {}))
    head = "| | " + " | ".join(c[1] for c in columns) + " |"
    rows = [head, "|---" * (len(columns) + 1) + "|"]
    gt = summary.get("colorfulness_gt")
    truth = {"delta_colorfulness": 0.0, "ciede2000": 0.0, "lpips": 0.0,
             **({} if gt is None else {"colorfulness": gt})}
    hinted = [(BASELINE_LABELS.get(k, k), d) for k, d in (summary.get("hint_baselines") or {}).items()]
    for label, d in ((model_label, summary.get("model") or {}),
                     ("gray baseline (ab = 0)", summary.get("gray_baseline") or {}),
                     *hinted, ("ground truth", truth)):
        rows.append(f"| {label} | " + " | ".join(
            f"{d[k]:.{n}f}" if k in d else "" for k, _, n in columns) + " |")
    return "\n".join(rows)


def load_model(ckpt_path: str) -> ColorizationGAN:
    """The checkpoint's model with the exact training hyperparameters, on the CPU."""
    hint = "Pass a .ckpt written by train.py (checkpoints/last.ckpt)."
    ckpt = read_checkpoint(ckpt_path, "ckpt_path", ConfigError)  # names any other kind of file
    hparams = ckpt.get("hyper_parameters")
    if not isinstance(hparams, dict) or "netG" not in hparams:
        raise ConfigError(f"ckpt_path={ckpt_path} is a checkpoint, but not colorgan's (no netG "
                          f"in its hyper-parameters). {hint}")
    check_targets(hparams, f"ckpt_path={ckpt_path}")  # before instantiating anything
    try:
        model = ColorizationGAN.load_from_checkpoint(ckpt_path, map_location="cpu")
    except Exception as e:
        raise ConfigError(f"ckpt_path={ckpt_path} is not a colorgan training checkpoint "
                          f"({one_line(e)}). {hint}") from e
    model.model_card = ckpt.get("model_card")  # its training data and split (protocol checks)
    return model


def check_eval_config(cfg: DictConfig) -> None:
    if not cfg.get("ckpt_path"):
        raise ConfigError("eval needs a checkpoint: pass ckpt_path=logs/train/runs/<run>/"
                          "checkpoints/last.ckpt (the file train.py saved).")
    if cfg.get("split", "test") not in SPLITS:
        raise ConfigError(f"split={cfg.split!r} is not supported; choose one of {list(SPLITS)}.")
    check_config(cfg)  # ckpt_path exists


def protocol_warnings(data: dict, card: dict | None, whole: bool) -> list[str]:
    """What makes these scores not held out for this checkpoint: its own training folder
    scored whole, or with a split other than the training's (from its model card)."""
    trained = ((card or {}).get("data") or {}).get("config") or {}
    if whole and is_training_data(data, card):
        keys = ("val_fraction", "test_fraction", "split_seed")
        given = " ".join(f"data.{k}={trained[k]}" for k in keys if k in trained)
        return [f"data.root={data.get('root')} has the name of this checkpoint's training data: "
                "all its images are scored, its training photos included. To score only its "
                f"test files, pass the training split: {given or 'its data.test_fraction'}."]
    wrong = split_mismatch(data, card)
    return [f"the split differs from this checkpoint's training ({', '.join(wrong)}): its "
            "'test' files may include photos it trained or chose on; pass the training "
            "values."] if wrong else []


FID_MIN_IMAGES = 5000  # the colorization literature's FID sets (e.g. ImageNet val 5k): fewer is noise


def feature_metrics(cfg: DictConfig | None) -> FeatureMetrics | None:
    """``metrics.fid`` / ``metrics.lpips`` -> the metrics (those that can be had), or None."""
    cfg = cfg or {}
    if not (cfg.get("fid") or cfg.get("lpips")):
        return None
    return FeatureMetrics(fid=bool(cfg.get("fid")), lpips=bool(cfg.get("lpips")),
                          lpips_net=str(cfg.get("lpips_net") or "alex"),
                          fid_weights=cfg.get("fid_weights"))


def feature_notes(features: FeatureMetrics | None, num_images: int | None) -> list[str]:
    """One line per skipped metric, and a warning when FID was measured on too few images."""
    if features is None:
        return []
    notes = list(features.skipped.values())
    if "fid" in features.metrics and "fid" not in features.skipped and num_images is not None \
            and num_images < FID_MIN_IMAGES:
        notes.append(f"FID on {num_images} images: below the {FID_MIN_IMAGES:,} the colorization "
                     "literature uses, it is dominated by the sample size; compare it only with "
                     "runs on the same images (docs/evaluation.md).")
    return notes


@torch.no_grad()
def save_samples(model: ColorizationGAN, datamodule: pl.LightningDataModule, split: str,
                 n: int, target: Path) -> torch.Tensor:
    """First ``n`` images of the split: gray input / generated / ground truth -> PNG."""
    batch = datamodule.on_after_batch_transfer(next(iter(_loader(datamodule, split))), 0)  # float
    batch = {k: v[:n].to(model.device) if torch.is_tensor(v) else v[:n] if isinstance(v, list)
             else v for k, v in batch.items()}  # lists: the file keys that place eval hints
    model.eval()
    out = model.colorize_batch(batch)
    grid = sample_grid(out["gray"].cpu(), out["fake"].cpu(), out["real"].cpu())  # (3, H', W')
    with atomic_output(target) as tmp:
        save_image(grid, tmp, format="png")
    return grid


def evaluate(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluate ``cfg.ckpt_path`` on ``cfg.split``; returns (metrics.json payload, objects)."""
    check_eval_config(cfg)
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_model(str(cfg.ckpt_path))
    p = model.predictor  # the colour settings (colorgan/predictor.py)
    p.set_temperature(cfg.get("temperature"), "temperature")  # classification: annealed mean
    if cfg.get("tta_flip") is not None:
        p.flip = bool(cfg.tta_flip)
    if cfg.get("chroma_gain") is not None:  # any model: chroma times a factor
        p.set_chroma_gain(cfg.chroma_gain)
    if cfg.get("chroma_center") is not None:  # what the gain scales about: zero | image
        p.set_chroma_center(cfg.chroma_center)
    options = hint_options(cfg.get("hints"))  # simulated hints: hints.points, hints.reference
    uses_hints = model.hint_sampler is not None  # an automatic checkpoint ignores them
    if options.active and uses_hints and cfg.get("chroma_gain") is None:
        p.set_chroma_gain(1.0)  # the gain is the automatic mode's knob (docs/hints.md)
    if uses_hints and options.mix != "auto":  # the share of Levin's fill of the points
        p.hint_mix = options.mix
    split = cfg.get("split", "test")
    with open_dict(cfg):  # null: the image size the checkpoint was trained at
        if cfg.data.get("image_size") is None:
            size = model.hparams.get("train_image_size") or 64
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigError(f"ckpt_path={cfg.ckpt_path}: its train_image_size={size!r} "
                                  "is not an image size; pass data.image_size=N.")
            cfg.data.image_size = size
        folder = str(cfg.data.get("_target_", "")).endswith(".FolderDataModule")
        if split == "test" and folder and float(cfg.data.get("test_fraction") or 0.0) == 0.0:
            cfg.data.test_fraction = 1.0  # a folder without a split: scored whole, and said so
    whole = folder and float(cfg.data.get("test_fraction") or 0) == 1.0  # every image, no split
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    warns = protocol_warnings(data_cfg, getattr(model, "model_card", None), whole)
    for w in warns:
        log.warning(w)
    check_config(cfg, model=model)
    features = feature_metrics(cfg.get("metrics"))  # FID / LPIPS: skipped where unavailable
    (model.test_metrics if split == "test" else model.val_metrics).extra = features
    datamodule = hydra.utils.instantiate(cfg.data)
    hints_info = setup_hints(model, datamodule, split, options, int(cfg.data.image_size))
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(cfg.trainer, logger=loggers or False,
                                                  callbacks=[])
    try:
        run = trainer.test if split == "test" else trainer.validate
        results = run(model, datamodule=datamodule, verbose=False)
        metrics = {k: float(v) for k, v in (results[0] if results else {}).items()}
        summary = summarize(metrics, split)
        if options.points > 0 and options.baselines:  # levin, nearest, nearest_l: same points
            flat = baseline_metrics(_loader(datamodule, split), lambda b:
                                    datamodule.on_after_batch_transfer(b, 0), model.eval_hints,
                                    f"{split}/")  # the model's keys, under the model's points
            summary["hint_baselines"] = {k: summarize(m, split)["model"] for k, m in flat.items()}
        grid = save_samples(model, datamodule, split, int(cfg.num_samples),
                            out_dir / "samples.png")
        log_wandb_image(loggers, f"{split}/samples", grid, step=0)
        dataset = datamodule.data_test if split == "test" else datamodule.data_val
        num_images = len(dataset) if dataset is not None else None
        scope = (f"all {num_images} images of {cfg.data.root}, no split" if whole else
                 f"{split} split, {num_images} images" + (
                     " (it chose the checkpoint: in-sample)" if split == "val" else ""))
        payload = {
            **summary, "hints": {**hints_info, "model_uses_hints": uses_hints,
                                 "chroma_gain": float(p.chroma_gain),
                                 "mix": p.hint_mix if uses_hints else None},
            "metrics": metrics, "checkpoint": str(Path(cfg.ckpt_path).resolve()),
            "split": "all" if whole else split, "scope": scope, "num_images": num_images,
            "protocol_warnings": warns, "image_size": int(cfg.data.image_size), "status": "ok",
            "skipped": dict(features.skipped) if features is not None else {}}
        write_text_atomic(out_dir / "metrics.json", json.dumps(payload, indent=2))
        notes = "".join(f"\n{n}" for n in [*feature_notes(features, num_images), *warns])
        label = ("model (automatic: trained without hints, it ignores them)"
                 if options.active and not uses_hints else "model")
        table = format_table(summary, label) + ("\n" + notes if notes else "")
        write_text_atomic(out_dir / "metrics.md", f"Checkpoint: {cfg.ckpt_path}, {scope}"
                          f"{hints_title(options, uses_hints)}\n\n{table}\n")
        print(f"\nEvaluation on {scope} ({out_dir}):\n{table}\n", flush=True)
    finally:
        finish_wandb()
    return payload, {"model": model, "datamodule": datamodule, "trainer": trainer}


def setup_hints(model: ColorizationGAN, datamodule: pl.LightningDataModule, split: str,
                options: HintOptions, size: int) -> dict[str, Any]:
    """``hints.*`` -> ``model.eval_hints`` for the split's photos; what metrics.json records."""
    model.eval_hints = None
    if not options.active:
        return options.as_dict()
    datamodule.setup("test" if split == "test" else "validate")  # the file list: idempotent
    dataset = datamodule.data_test if split == "test" else datamodule.data_val
    if getattr(dataset, "files", None) is None:
        raise ConfigError(f"hints.points={options.points} hints.reference={options.reference}: "
                          "the simulated hints are placed by each photo's file name, and "
                          f"{type(datamodule).__name__} has none; use file-backed data "
                          "(data=folder data.root=DIR, data=landscapes).")
    model.eval_hints, info = make_eval_hints(options, dataset, size)
    return {**options.as_dict(), **info}


def _loader(datamodule: pl.LightningDataModule, split: str):
    return datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()


def hints_title(options: HintOptions, uses_hints: bool) -> str:
    """The table title's part about hints ('' without)."""
    if not options.active:
        return ""
    ref = {"none": "no reference", "self": "reference: the photo's own palette",
           "class": "reference: another test photo of its class folder"}[options.reference]
    auto = ("" if uses_hints else "; this checkpoint was trained without hints: its row is the "
            "automatic colorizer (it ignores the points)")
    return (f", {options.points} simulated point(s) of {EVAL_SIDE}x{EVAL_SIDE} px per photo (hints.seed="
            f"{options.seed}), {ref}{auto}")


@short_errors  # a config error: its message alone, not Hydra's traceback
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval.yaml")
def main(cfg: DictConfig) -> float | None:
    payload, _ = evaluate(cfg)
    return payload["model"].get("psnr")


if __name__ == "__main__":
    main()
