"""Choose a hint model's share of Levin et al.'s fill (``hints.mix``, docs/hints.md) on the
**validation** split, the one that chooses: the hint model at 5, 10, 20 and 50 simulated points
with each candidate share (0: the model alone), and Levin et al. 2004 alone (share 1) under the
same points. The test split is not read.

    python experiments/hints/choose_mix.py --hints HINTS.ckpt --out logs/hints/mix_val

Prints the table (PSNR, val) and the share with the best mean PSNR over the point counts.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import eval_in_process  # noqa: E402

MIXES = ("0", "0.25", "0.5", "0.75")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hints", required=True, help="the experiment=scenes64_hints checkpoint")
    p.add_argument("--root", default="../shared/data/images/scenes")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--points", type=int, nargs="+", default=[5, 10, 20, 50])
    p.add_argument("--mixes", nargs="+", default=list(MIXES))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = ["data=folder", f"data.root={args.root}", "data.image_size=64",
            "data.val_fraction=0.2", "data.test_fraction=0.1", "data.num_workers=0",
            "split=val", f"hints.seed={args.seed}", "trainer.enable_progress_bar=false"]
    psnr: dict[str, dict[int, float]] = {d: {} for d in args.mixes}
    levin: dict[int, float] = {}
    for n in args.points:
        for d in args.mixes:
            target = args.out / f"m{d}" / f"p{n}"
            overrides = [f"ckpt_path={args.hints}", *data, f"hints.points={n}",
                         f"hints.mix={d}", f"hints.baselines={str(d == args.mixes[0]).lower()}"]
            if not (target / "metrics.json").is_file():
                print(shlex.join(["python", "eval.py", *overrides, f"hydra.run.dir={target}"]),
                      flush=True)
                eval_in_process(overrides, target)
            payload = json.loads((target / "metrics.json").read_text())
            psnr[d][n] = payload["model"]["psnr"]
            if "hint_baselines" in payload:
                levin[n] = payload["hint_baselines"]["levin"]["psnr"]
    cols = " | ".join(f"{n} pts" for n in args.points)
    print(f"\n| hints.mix (val split, PSNR dB) | {cols} | mean |")
    print("|---" * (len(args.points) + 2) + "|")
    for d in args.mixes:
        vals = [psnr[d][n] for n in args.points]
        print(f"| {d} | " + " | ".join(f"{v:.2f}" for v in vals) + f" | {sum(vals) / len(vals):.2f} |")
    if levin:
        vals = [levin[n] for n in args.points]
        print("| Levin et al. 2004 alone (same points) | " + " | ".join(f"{v:.2f}" for v in vals)
              + f" | {sum(vals) / len(vals):.2f} |")
    best = max(args.mixes, key=lambda d: sum(psnr[d].values()))
    print(f"\nchosen on val: hints.mix={best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
