"""The evaluation protocol of a run: three splits, disjoint by file, and which split chose what.

- ``train`` fits the weights;
- ``val`` chooses: the best checkpoint (``val/select``), early stopping, the chroma gain
  calibration (``model.chroma_target``) and a sweep's ``optimized_metric``;
- ``test`` is reported, and never read while choosing.

After fit, train.py measures the checkpoint the run chose (the best by val, or the last weights
when nothing chose one) on val, labelled as the split that chose, and on test, the number to
report. A dataset without a test split reports val and says it is in-sample for those choices.
Held-out evaluation in the spirit of the usual train / dev / test practice; see
docs/evaluation.md, "Protocol".
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping

from colorgan.callbacks import LastCheckpoint

log = logging.getLogger("colorgan")
# the options that decide which file lands in which split (caps and file checks only thin a split)
SPLIT_KEYS = ("val_fraction", "test_fraction", "split_seed", "recursive", "sizes", "fractions",
              "train_split", "test_split")


def split_sizes(datamodule: Any) -> dict[str, int | None]:
    """Files (images, frames) per split; None for a split the dataset does not have."""
    return {s: (None if getattr(datamodule, f"data_{s}", None) is None
                else len(getattr(datamodule, f"data_{s}"))) for s in ("train", "val", "test")}


def chooser(monitor: str | None) -> str | None:
    """The split a monitored metric is measured on: ``val/select`` -> ``val``."""
    return str(monitor).split("/", 1)[0] if monitor and "/" in str(monitor) else monitor


def chosen_checkpoint(trainer: pl.Trainer) -> tuple[str | None, str]:
    """(path, "best") for ModelCheckpoint's best file, else (last.ckpt or None, "last"):
    the weights the run's final numbers are measured on."""
    ck = trainer.checkpoint_callback  # with no monitor it keeps the latest: it chooses nothing
    best = (getattr(ck, "best_model_path", "") or "") if getattr(ck, "monitor", None) else ""
    if best and Path(best).is_file():
        return best, "best"
    last = next((c.last_model_path for c in trainer.callbacks if isinstance(c, LastCheckpoint)),
                None)
    return (last if last and Path(last).is_file() else None), "last"


def protocol(trainer: pl.Trainer, model: pl.LightningModule, datamodule: Any, which: str,
             data_cfg: dict, seed: int | None) -> dict[str, Any]:
    """``metrics.json``'s ``protocol``: which split chose what, which was reported, the split
    sizes (files) and seeds."""
    stop = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    sizes = split_sizes(datamodule)
    choices = {
        "checkpoint": chooser(trainer.checkpoint_callback.monitor) if which == "best" else None,
        "early_stopping": chooser(stop.monitor) if stop is not None else None,
        "chroma_calibration": "val" if model.hparams.get("chroma_target") is not None else None,
    }
    reported = "test" if sizes["test"] else "val"
    seed_key = "split_seed" if "split_seed" in data_cfg else "seed"
    return {**choices, "reported": reported,
            "in_sample": reported in choices.values(),  # the reported split also chose
            "checkpoint_used": which, "splits": sizes,
            "split_seed": data_cfg.get(seed_key), "split_seed_option": f"data.{seed_key}",
            "seed": seed}


def final_metrics(trainer: pl.Trainer, model: pl.LightningModule, datamodule: Any,
                  ckpt_path: str | None) -> dict[str, float]:
    """The chosen weights (``ckpt_path``; None: those in memory) on val, then on test when the
    dataset has one -> flat ``val/...`` and ``test/...`` metrics."""
    metrics: dict[str, float] = {}
    for run, split in ((trainer.validate, "val"), (trainer.test, "test")):
        if split == "test" and getattr(datamodule, "data_test", None) is None:
            break  # set up by the validation just run: this dataset has no test split
        results = run(model, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False,
                      weights_only=False)  # our own checkpoint, written by this run
        metrics.update({k: float(v) for k, v in (results[0] if results else {}).items()})
    return metrics


def title(proto: dict[str, Any], ckpt_path: str | None) -> str:
    """The final table's heading: the weights measured and the split reported."""
    name = Path(ckpt_path).name if ckpt_path else "in memory"
    what = {"best": f"the best checkpoint ({name}, chosen on {proto['checkpoint']})",
            "last": f"the last weights ({name}; no checkpoint was chosen)"}.get(
        proto["checkpoint_used"], f"the given checkpoint ({name})")
    if proto["reported"] == "test":
        return f"Final scores of {what}: test split reported, val beside it"
    return (f"Final scores of {what}: NO TEST SPLIT in this data; val reported, in-sample "
            "for what it chose")


def split_label(split: str, proto: dict[str, Any]) -> str:
    """One table's label: the split, its size and what it did."""
    n = (proto.get("splits") or {}).get(split)
    chose = [k.replace("_", " ") for k in ("checkpoint", "early_stopping", "chroma_calibration")
             if proto.get(k) == split]
    if split == "test":
        return f"test ({n} files): reported, never used to choose"
    role = f"chose the {', '.join(chose)}" if chose else "chose nothing in this run"
    return f"val ({n} files): {role}" + ("; in-sample" if chose else "")


def split_mismatch(data_cfg: dict, card: dict | None) -> list[str]:
    """eval on the checkpoint's own training data (same target, same root name): the options
    that make its split differ from the training's, as ``data.KEY=trained (given)``."""
    data = (card or {}).get("data") or {}
    trained = data.get("config") or {}
    root = str(data_cfg.get("root") or "")
    if not trained or data.get("target") != data_cfg.get("_target_") or not root \
            or Path(root).name != data.get("root_name"):
        return []
    return [f"data.{k}={trained[k]} (given {data_cfg.get(k)})" for k in SPLIT_KEYS
            if k in trained and k in data_cfg and trained[k] != data_cfg.get(k)]


def is_training_data(data_cfg: dict, card: dict | None) -> bool:
    """The folder eval was given has the name of the checkpoint's training data root."""
    data = (card or {}).get("data") or {}
    root = str(data_cfg.get("root") or "")
    return bool(root) and data.get("root_name") == Path(root).name


__all__ = ["chosen_checkpoint", "chooser", "final_metrics", "is_training_data", "protocol",
           "split_label", "split_mismatch", "split_sizes", "title"]
