"""The TEST table of experiments/films: the real clips of ../shared/data/videos and the joined
clips (clips.py joined), one table per clip and the mean over clips, with the carry's knobs
chosen on validation (choose_val.py: --choice). Also: do the detected cuts of each joined clip
equal the known ones, and the goals of issue #30.

    python experiments/films/run.py --ckpt C --videos ../shared/data/videos \
        --joined OUT/clips --choice OUT/choice.json --json OUT/test.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import VIDEOS  # noqa: E402
from rows import clip_rows, mean_rows, table  # noqa: E402


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def goals(rows: list[dict], ref: str) -> list[str]:
    """Issue #30's goals (PSNR: mean over shots), per clip and on the mean, for the chosen
    reference row."""
    out = []
    by = {(r["clip"], r["label"]): r for r in rows}
    means = {m["label"]: m for m in mean_rows(rows)}
    for clip in [*dict.fromkeys(r["clip"] for r in rows), "mean"]:
        got = {lab: means[lab] if clip == "mean" else by[(clip, lab)] for lab in
               (ref, "naive_copy", "naive_mean", "independent", "gray")}
        r, ind, gray = got[ref]["psnr_shots"], got["independent"], got["gray"]["psnr_shots"]
        naive = max(got["naive_copy"]["psnr_shots"], got["naive_mean"]["psnr_shots"])
        cdc, cdc_ind = got[ref]["cdc"], ind["cdc"]
        out.append(f"| {clip} | {r - naive:+.2f} ({_met(r >= naive + 1)}) | "
                   f"{r - ind['psnr_shots']:+.2f} ({_met(r >= ind['psnr_shots'] + 2)}) | "
                   f"{cdc:.5f} vs {cdc_ind:.5f} ({_met(cdc <= cdc_ind)}) | "
                   f"{r - gray:+.2f} ({_met(r >= gray + 5)}) |")
    return ["| clip | vs better naive (>= +1 dB) | vs independent (>= +2 dB) | CDC <= independent's "
            "| vs gray (>= +5 dB, moonshot) |", "|---|---|---|---|---|", *out]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True)
    p.add_argument("--videos", type=Path, default=Path("../shared/data/videos"))
    p.add_argument("--joined", type=Path, required=True, help="folder written by clips.py joined")
    p.add_argument("--choice", type=Path, required=True, help="written by choose_val.py")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    from colorgan.colorize.carry import TAU
    from colorgan.colorize.colorizer import Colorizer
    from colorgan.scenes import find_cuts
    choice = json.loads(a.choice.read_text())
    tau = choice["carry_tau"]
    # what a user gets (the defaults), the knobs chosen on validation, the fill (default tau)
    carry = list(dict.fromkeys([(TAU, False), (tau, choice["carry_fill"]), (TAU, True)]))
    c = Colorizer.from_checkpoint(a.ckpt, device="cpu")
    known = {j["clip"]: j["known_cuts"] for j in json.loads((a.joined / "joined.json").read_text())}
    clips = [a.videos / n for n in VIDEOS] + [a.joined / n for n in known]
    rows, cut_lines = [], []
    for clip in clips:
        detected = [i for i, _ in find_cuts(clip)]
        if clip.name in known:
            cut_lines.append(f"| {clip.name} | {known[clip.name]} | {detected} | "
                             f"{'yes' if detected == known[clip.name] else 'no'} |")
        rows += clip_rows(clip, c, detected, carry)  # the cuts a user's run would find
    ref = f"reference (tau {TAU:g}, fill off)"  # the goals: for what a user gets
    print(f"Carry knobs chosen on validation: carry_tau={tau:g}, "
          f"carry_fill={'on' if choice['carry_fill'] else 'off'} (val PSNR {choice['val_psnr']:.2f}).\n")
    for clip in clips:
        print(f"### {clip.name}\n\n{table([r for r in rows if r['clip'] == clip.name])}\n")
    print(f"### Mean over the {len(clips)} clips (test)\n\n{table(mean_rows(rows))}\n")
    print("### Cuts of the joined clips\n\n| clip | known | detected | equal |\n|---|---|---|---|")
    print("\n".join(cut_lines) + "\n")
    print(f"### Goals ({ref}: the defaults)\n\n" + "\n".join(goals(rows, ref)))
    if a.json is not None:
        a.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
