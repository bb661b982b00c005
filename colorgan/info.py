"""``colorgan info CKPT``: what a checkpoint is (architecture, epoch, step) and its model card.
Read as plain data (``weights_only=True``) without Lightning or Hydra; ``--json``: the card alone.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from colorgan.architecture import architecture, describe
from colorgan.model_card import TEST_NOT_MEASURED, has_test, root_words, start_words

NO_CARD = ("model card: none in this checkpoint (saved before colorgan wrote model cards, or "
           "not by colorgan train); what it is, is above.")


class InfoError(ValueError):
    """The file cannot be read as a checkpoint: the message names it."""


def load(path: Path) -> dict:
    if not path.is_file():
        raise InfoError(f"{path}: no such file. Pass a .ckpt written by colorgan train, e.g. "
                        "logs/train/runs/<run>/checkpoints/last.ckpt.")
    if path.stat().st_size == 0:
        raise InfoError(f"{path} is empty (0 bytes): not a checkpoint. Use another checkpoint "
                        "of the run, e.g. the best one next to last.ckpt.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # noqa: BLE001 - any unpickling/zip error means "not a checkpoint"
        raise InfoError(f"{path} is not a readable checkpoint (truncated or not a .ckpt: "
                        f"{type(e).__name__}: {str(e).splitlines()[0][:160]}). Use another "
                        "checkpoint of the run, e.g. the best one next to last.ckpt.") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("hyper_parameters"), dict) \
            or "netG" not in ckpt["hyper_parameters"]:
        raise InfoError(f"{path} is a PyTorch file but not a colorgan checkpoint (no netG "
                        "hyper-parameters). Pass a .ckpt written by colorgan train.")
    return ckpt


def _num(v: Any, n: int = 2) -> str:
    return f"{v:.{n}f}" if isinstance(v, (int, float)) else "n/a"


def score_line(m: dict) -> str:
    v = m.get("values") or {}
    what = "test" if m.get("split") == "test" else "validation"
    when = f"final {what} after fit" if m.get("final") else f"{what} during training"
    return (f"PSNR {_num(v.get('psnr'))} dB (gray {_num(v.get('gray_psnr'))}), SSIM "
            f"{_num(v.get('ssim'), 4)}, colorfulness {_num(v.get('colorfulness'))} (truth "
            f"{_num(v.get('colorfulness_gt'))}); {m.get('images')} images, {when} after "
            f"{m.get('after_epochs')} epoch(s), step {m.get('global_step')}")


def card_lines(card: dict) -> list[str]:
    data, sp, code, hw, tr = (card.get("data") or {}, (card.get("data") or {}).get("splits") or {},
                              card.get("code") or {}, card.get("hardware") or {},
                              card.get("training") or {})
    metrics = card.get("metrics") or {}
    test = sp.get("test") if has_test(sp) else "none"
    commit = code.get("commit") or "unknown (not a git checkout)"
    lines = [f"model card (format {card.get('format')}, written {card.get('written')}):",
             f"  data: {data.get('target')}, root {root_words(data.get('root_name'))}, "
             f"{data.get('image_size')} px",
             f"  splits: train {sp.get('train')}, val {sp.get('val')}, test {test} "
             f"(seed {sp.get('seed')}, {sp.get('seed_option')})",
             f"  started from: {start_words(tr.get('started_from'))}",
             f"  training: {tr.get('epochs')} epoch(s), {tr.get('global_step')} steps, "
             f"{_num(tr.get('time_s'), 1)} s",
             "  test split (reported, never used to choose): " + (
                 score_line(metrics["test"]) if metrics.get("test")
                 else metrics.get("test_note", TEST_NOT_MEASURED)),
             "  val split (chose the checkpoint: in-sample): " + (
                 score_line(metrics["val"]) if metrics.get("val") else "not measured"),
             f"  colorgan {code.get('version')}, commit {commit}"
             + (" (uncommitted changes)" if code.get("dirty") else ""),
             f"  hardware: {hw.get('gpu') or 'no GPU'}; {hw.get('cpu')} ({hw.get('cpu_cores')} "
             f"cores); torch {hw.get('torch')}, {hw.get('devices')} {hw.get('accelerator')} "
             f"device(s), precision {hw.get('precision')}"]
    return lines


def report(path: Path, ckpt: dict) -> str:
    arch = architecture(ckpt["hyper_parameters"], fill_defaults=False)  # as saved, no imports
    size_mb = path.stat().st_size / 2 ** 20
    lines = [f"{path} ({size_mb:.1f} MB): epoch {ckpt.get('epoch')}, global step "
             f"{ckpt.get('global_step')}",
             "architecture: " + ", ".join(describe(k, v) for k, v in arch.items())]
    card = ckpt.get("model_card")
    lines += card_lines(card) if isinstance(card, dict) else [NO_CARD]
    return "\n".join(lines)


def info_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="colorgan info", description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", type=Path, help="a .ckpt written by colorgan train")
    parser.add_argument("--json", action="store_true", help="print the model card as JSON")
    args = parser.parse_args(argv)
    try:
        ckpt = load(args.ckpt)
    except InfoError as e:
        print(f"colorgan info: {e}", file=sys.stderr)
        return 1
    if args.json:
        card = ckpt.get("model_card")
        if not isinstance(card, dict):
            print(f"colorgan info: {args.ckpt}: {NO_CARD}", file=sys.stderr)
            return 1
        print(json.dumps(card, indent=2))
        return 0
    print(report(args.ckpt, ckpt))
    return 0


__all__ = ["info_main", "load", "report"]
