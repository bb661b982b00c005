"""Does averaging models beat spending the time on one (experiments/quality/TABLES.md, table 25)? The
raw ab of several runs on the same split (each with its checkpoint's flip), averaged, read at
equal colour on the test split like tta.py: one gain found where the test colorfulness is
``--at`` x the truth's (and at ``--at-colour`` values). Each run alone is read the same way.
Inference only; a probe, not a shipped option.

    python experiments/quality/ensemble.py logs/quality/scenes-best19/train \
        logs/quality/scenes-s2e90-25-s42 --at 0.9 1.0 --at-colour 30.01 32.25
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tta import equal_colour_args, gain_for, load, measure, predict  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from colorgan.metrics import colorfulness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="train.py run folders, the same split")
    args = equal_colour_args(ap).parse_args(argv)
    if len(args.runs) < 2:
        ap.error(f"runs: got {len(args.runs)}; an ensemble needs two or more run folders")
    torch.manual_seed(0)
    preds = []
    for run in args.runs:
        dm, model = load(run, args.max_test)
        flip = bool(model.hparams.get("tta_flip", False))
        preds.append(predict(dm, model, dm.test_dataloader(), flip))
        if preds[-1][2].shape != preds[0][2].shape or not torch.equal(preds[-1][2], preds[0][2]):
            raise SystemExit(f"{run}: its test photos differ from {args.runs[0]}'s; pass runs "
                             "trained on the same data.root and split (data.split_seed, fractions).")
    real_A, real = preds[0][1], preds[0][2]
    truth = float(colorfulness(real).mean())
    goals = [(f"{a}x", a * truth) for a in args.at] + [(f"{c:.2f}", c) for c in args.at_colour]
    print(f"# {len(real)} test images; ground truth colorfulness {truth:.2f}\n")
    print("| model | " + " | ".join(f"PSNR at {name}" for name, _ in goals) + " |")
    print("|---|" + "---|" * len(goals))
    named = [(str(r), p[0]) for r, p in zip(args.runs, preds)]
    named.append((f"ensemble of {len(preds)}", torch.stack([p[0] for p in preds]).mean(0)))
    for name, raw in named:
        cells = [measure(model, raw, real_A, real, gain_for(model, raw, real_A, goal))["psnr"]
                 for _, goal in goals]
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
