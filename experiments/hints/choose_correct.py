"""Choose how fast a point's correction fades (``hints.correct``, docs/hints.md) on the
**validation** split, the one that chooses: the hint model at 5, 10 and 20 simulated points with
each candidate decay, and Levin et al. 2004 under the same points. The test split is not read.

    python experiments/hints/choose_correct.py --hints HINTS.ckpt --out logs/hints/correct_val

Prints the table (PSNR, val) and the decay with the best mean PSNR over the point counts.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import eval_in_process  # noqa: E402

DECAYS = ("none", "0", "0.001", "0.01", "0.1")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hints", required=True, help="the experiment=scenes64_hints checkpoint")
    p.add_argument("--root", default="../shared/data/images/scenes")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--points", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--decays", nargs="+", default=list(DECAYS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = ["data=folder", f"data.root={args.root}", "data.image_size=64",
            "data.val_fraction=0.2", "data.test_fraction=0.1", "data.num_workers=0",
            "split=val", f"hints.seed={args.seed}", "trainer.enable_progress_bar=false"]
    psnr: dict[str, dict[int, float]] = {d: {} for d in args.decays}
    levin: dict[int, float] = {}
    for n in args.points:
        for d in args.decays:
            target = args.out / f"c{d}" / f"p{n}"
            overrides = [f"ckpt_path={args.hints}", *data, f"hints.points={n}",
                         f"hints.correct={d}", f"hints.baselines={str(d == args.decays[0]).lower()}"]
            if not (target / "metrics.json").is_file():
                print(shlex.join(["python", "eval.py", *overrides, f"hydra.run.dir={target}"]),
                      flush=True)
                eval_in_process(overrides, target)
            payload = json.loads((target / "metrics.json").read_text())
            psnr[d][n] = payload["model"]["psnr"]
            if "hint_baselines" in payload:
                levin[n] = payload["hint_baselines"]["levin"]["psnr"]
    cols = " | ".join(f"{n} pts" for n in args.points)
    print(f"\n| hints.correct (val split, PSNR dB) | {cols} | mean |")
    print("|---" * (len(args.points) + 2) + "|")
    for d in args.decays:
        vals = [psnr[d][n] for n in args.points]
        print(f"| {d} | " + " | ".join(f"{v:.2f}" for v in vals) + f" | {sum(vals) / len(vals):.2f} |")
    if levin:
        vals = [levin[n] for n in args.points]
        print("| Levin et al. 2004 | " + " | ".join(f"{v:.2f}" for v in vals)
              + f" | {sum(vals) / len(vals):.2f} |")
    best = max(args.decays, key=lambda d: sum(psnr[d].values()))
    print(f"\nchosen on val: hints.correct={best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
