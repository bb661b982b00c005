"""A model card in every checkpoint (``checkpoint["model_card"]``), as plain data: training
data, code, machine, time and scores with their split (Mitchell et al. 2019, "Model Cards for
Model Reporting", arXiv:1810.03993). Nothing here imports Lightning or Hydra.
"""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

CARD_FORMAT = 1
PATH_KEYS = ("cache_dir",)  # private paths: left out of the card (root: only its name is kept)
TEST_NOT_MEASURED = ("not measured on these weights: train.py measures the test split once, "
                     "after fit, on the checkpoint it chose (metrics.json: evaluated_checkpoint); "
                     "colorgan eval ckpt_path=CKPT split=test measures this one")
NO_TEST_SPLIT = ("none: the training data has no test split, so the val numbers above are "
                 "in-sample (val chose the checkpoint); train with a test split (data=folder: "
                 "data.test_fraction=0.1) or colorgan eval ckpt_path=CKPT on other photos")


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """colorgan's version, git commit and uncommitted changes (null outside a git checkout)."""
    root = Path(__file__).resolve().parents[1]
    try:
        version = metadata.version("colorgan")
    except metadata.PackageNotFoundError:
        version = None
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top is None or Path(top.strip()).resolve() != root:  # not colorgan's own checkout
        return {"version": version, "commit": None, "dirty": None}
    commit = (_git(["rev-parse", "HEAD"], root) or "").strip() or None
    status = _git(["status", "--porcelain"], root)
    return {"version": version, "commit": commit, "dirty": None if status is None else bool(status.strip())}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device | None = None, **extra: Any) -> dict[str, Any]:
    """CPU model and cores, the GPU (when training ran on one), torch's version."""
    gpu = None
    if device is not None and device.type == "cuda" and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(device)
    return {"cpu": cpu_name(), "cpu_cores": os.cpu_count(), "gpu": gpu,
            "torch": str(torch.__version__), **extra}


def root_name(root: Any) -> Any:
    """A data root's folder name (a list of them for a list of videos); not the full path."""
    if root is None:
        return None
    if isinstance(root, (list, tuple)):
        return [Path(str(r)).name for r in root]
    return Path(str(root)).name


def data_card(data_cfg: dict, sizes: dict[str, int | None]) -> dict[str, Any]:
    """The data config (root by name only, cache paths left out), split sizes and split seed."""
    cfg = {k: v for k, v in data_cfg.items() if k not in PATH_KEYS}
    if "root" in cfg:
        cfg["root"] = root_name(cfg["root"])
    seed_key = "split_seed" if "split_seed" in data_cfg else "seed"
    return {"target": data_cfg.get("_target_"), "root_name": root_name(data_cfg.get("root")),
            "image_size": data_cfg.get("image_size"), "config": cfg,
            "splits": {**sizes, "has_test": sizes.get("test") is not None,
                       "seed": data_cfg.get(seed_key), "seed_option": f"data.{seed_key}"}}


def val_metrics(metrics: dict[str, float], images: int | None, epoch: int, step: int,
                final: bool, split: str = "val") -> dict[str, Any] | None:
    """The ``split/...`` metrics as the card keeps them: the split, its size, when measured
    (``final``: train.py's measurement after fit)."""
    values = {k[len(split) + 1:]: float(v) for k, v in metrics.items() if k.startswith(f"{split}/")}
    if "psnr" not in values:
        return None
    return {"split": split, "images": images, "after_epochs": epoch, "global_step": step,
            "final": final, "values": values}


def has_test(splits: dict) -> bool:
    """A card's data has a test split (cards before ``has_test`` said ``test_is_val``)."""
    return bool(splits.get("has_test", not splits.get("test_is_val", False)))


# --------------------------------------------------------------------------- rendering
def _fmt(v: Any, n: int = 2) -> str:
    return f"{v:.{n}f}" if isinstance(v, (int, float)) and v is not None else "n/a"


def score_rows(m: dict[str, Any]) -> list[str]:
    v = m["values"]
    return ["| | PSNR (dB) | SSIM | colorfulness |", "|---|---|---|---|",
            f"| model | {_fmt(v.get('psnr'))} | {_fmt(v.get('ssim'), 4)} | {_fmt(v.get('colorfulness'))} |",
            f"| gray baseline (ab = 0) | {_fmt(v.get('gray_psnr'))} | {_fmt(v.get('gray_ssim'), 4)} "
            f"| {_fmt(v.get('gray_colorfulness'))} |",
            f"| ground truth | | | {_fmt(v.get('colorfulness_gt'))} |"]


def _generator_words(hp: dict) -> str:
    g = dict(hp.get("netG") or {})
    name = str(g.pop("_target_", "?")).rsplit(".", 1)[-1]
    d = hp.get("netD") if hp.get("adversarial", True) else None
    disc = str(d.get("_target_", "?")).rsplit(".", 1)[-1] if d else "none (regression only)"
    return (f"{name}({', '.join(f'{k}={v}' for k, v in g.items())}); discriminator: {disc}; "
            f"colour space: {hp.get('color_space', 'lab')}")


def root_words(name: Any) -> str:
    if name is None:
        return "none (built-in data)"
    return ", ".join(f"`{n}`" for n in name) if isinstance(name, list) else f"`{name}`"


def start_words(start: dict | None) -> str:
    """``training.started_from`` in words."""
    start = start or {}
    mode = start.get("mode", "scratch")
    origin = f"; first started from {start_words(start['origin'])}" if start.get("origin") else ""
    if mode == "init_from":
        return (f"the weights of {start.get('checkpoint')} (fine-tuned; that model was trained on "
                f"{start.get('base_data') or 'unknown data'}, commit "
                f"{start.get('base_commit') or 'unknown'}){origin}")
    if mode == "resume":
        return f"resumed from {start.get('checkpoint')}{origin}"
    return "random weights (trained from scratch)"


def limits(card: dict, hp: dict) -> list[str]:
    data, size = card["data"], card["data"].get("image_size")
    n = data["splits"].get("train")
    out = [f"Trained at {size} px on {n if n is not None else 'an unknown number of'} images "
           f"of {root_words(data.get('root_name')) if data.get('root_name') else 'built-in data'}; photos "
           "unlike them (other scenes, eras, film stock) get less reliable colour.",
           "The colour is a guess from the gray values: plausible, not the true colour of the "
           "scene; compare against the gray baseline above, not against zero.",
           "Inference runs the generator at the training size on the short side and "
           "upsamples its colour; fine colour detail smaller than that is not recovered."]
    if card["metrics"].get("test") is None:
        out.append("No test-split score: the numbers above are on the validation split, "
                   "which also chose the checkpoint (in-sample).")
    if card["code"].get("dirty"):
        out.append("Trained from a checkout with uncommitted changes: the commit alone does "
                   "not reproduce it.")
    if (hp.get("temporal") or {}).get("enabled"):
        out.append("A film model (temporal): it expects the previous frame's colour.")
    return out


def render_markdown(card: dict, hp: dict, title: str = "Model card") -> str:
    """``MODEL_CARD.md``: what it was trained on, how it scores (with the split), known limits."""
    data, sp, code, hw, tr = (card["data"], card["data"]["splits"], card["code"],
                              card["hardware"], card["training"])
    test = sp.get("test") if has_test(sp) else "none"
    lines = [f"# {title}", "", "## What it was trained on", "",
             f"- data: `{data.get('target')}`, root {root_words(data.get('root_name'))}, "
             f"{data.get('image_size')} px",
             f"- splits: train {sp.get('train')}, val {sp.get('val')}, test {test} "
             f"(seed {sp.get('seed')}, `{sp.get('seed_option')}`)",
             f"- model: {_generator_words(hp)}",
             f"- started from: {start_words(tr.get('started_from'))}",
             f"- training: {tr.get('epochs')} epoch(s), {tr.get('global_step')} steps, "
             f"{_fmt(tr.get('time_s'), 1)} s", "", "## How it scores", ""]
    for split in ("test", "val"):
        m = card["metrics"].get(split)
        if m:
            when = "after fit" if m.get("final") else "during training"
            role = ("reported: never used to choose" if split == "test" else
                    "the split that chose the checkpoint, so in-sample for that choice")
            lines += [f"On the **{m['split']}** split ({m.get('images')} images, measured "
                      f"{when} on the weights after {m.get('after_epochs')} epoch(s), step "
                      f"{m.get('global_step')}; {role}):", "", *score_rows(m), ""]
        elif split == "test":
            lines += ["Test split: " + card["metrics"].get("test_note", TEST_NOT_MEASURED), ""]
        else:
            lines += ["Validation: not measured.", ""]
    lines += [
              "## Known limits", "", *[f"- {x}" for x in limits(card, hp)], "",
              "## Provenance", "",
              f"- colorgan {code.get('version')}, commit "
              f"{code.get('commit') or 'unknown (not a git checkout)'}"
              f"{' (uncommitted changes)' if code.get('dirty') else ''}",
              f"- written {card.get('written')}",
              f"- hardware: {hw.get('gpu') or 'no GPU'}; {hw.get('cpu')} ({hw.get('cpu_cores')} "
              f"cores); torch {hw.get('torch')}", ""]
    return "\n".join(lines)


__all__ = ["CARD_FORMAT", "NO_TEST_SPLIT", "TEST_NOT_MEASURED", "code_version", "data_card",
           "hardware", "has_test", "render_markdown", "root_name", "start_words", "utc_now", "val_metrics"]
