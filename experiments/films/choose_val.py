"""Choose the carry's knobs (carry_tau, carry_fill) on VALIDATION: simulated sequences made
from the validation-split photos (clips.py val), never on the real clips (the test set).
Each sequence is one shot; its first frame's true colour is the reference. Prints the val
table (mean over sequences) and writes the choice (highest mean PSNR) to --choice.

    python experiments/films/choose_val.py --ckpt C --val OUT/val --choice OUT/choice.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rows import clip_rows, mean_rows, table  # noqa: E402

TAUS = (0.04, 0.08, 0.16)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True)
    p.add_argument("--val", type=Path, required=True, help="folder written by clips.py val")
    p.add_argument("--choice", type=Path, required=True)
    p.add_argument("--taus", type=float, nargs="+", default=TAUS)
    a = p.parse_args()
    from colorgan.colorize.colorizer import Colorizer
    c = Colorizer.from_checkpoint(a.ckpt, device="cpu")
    from colorgan.colorize.carry import TAU
    # the default tau first: on a tie (tau only matters with the fill) the default stays
    carry = [(t, f) for f in (False, True) for t in sorted(a.taus, key=lambda t: t != TAU)]
    rows = []
    for clip in sorted(a.val.glob("val_*.mp4")):
        rows += clip_rows(clip, c, [], carry, ("gray", "independent", "naive_copy", "naive_mean"))
    summary = mean_rows(rows)
    refs = [r for r in summary if r["label"].startswith("reference")]
    best = max(refs, key=lambda r: r["psnr"])
    i = [r["label"] for r in refs].index(best["label"])
    choice = {"carry_tau": carry[i][0], "carry_fill": carry[i][1], "val_psnr": best["psnr"],
              "sequences": len(rows) // len(summary)}
    print(f"Validation: {choice['sequences']} simulated sequences (one val photo each), "
          "mean over sequences, reference frame left out:\n")
    print(table(summary))
    print(f"\nchoice (highest val PSNR): {json.dumps(choice)}")
    a.choice.write_text(json.dumps({**choice, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
