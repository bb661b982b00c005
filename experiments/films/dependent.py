"""The dependent generator (experiment=films_dependent: trained on photos with simulated camera
motion, shown its own colour of the previous frame) against independent and smooth (the
automatic modes of experiment=films_reference's model, the same recipe without the previous
frame) on the test clips: the real clips of ../shared/data/videos and the joined clips. No
reference frames: every frame is scored.

    python experiments/films/dependent.py --ckpt C --dependent D --joined OUT/clips
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import VIDEOS  # noqa: E402
from rows import mean_rows, table  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True, help="the automatic model (films_reference)")
    p.add_argument("--dependent", required=True, help="the dependent model (films_dependent)")
    p.add_argument("--videos", type=Path, default=Path("../shared/data/videos"))
    p.add_argument("--joined", type=Path, required=True, help="folder written by clips.py joined")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    from colorgan.colorize.colorizer import Colorizer
    from colorgan.colorize.film_eval import evaluate_video
    auto = Colorizer.from_checkpoint(a.ckpt, device="cpu")
    dep = Colorizer.from_checkpoint(a.dependent, device="cpu")
    known = [j["clip"] for j in json.loads((a.joined / "joined.json").read_text())]
    clips = [a.videos / n for n in VIDEOS] + [a.joined / n for n in known]
    rows = []
    for clip in clips:
        for label, c, mode in (("gray", None, "gray"), ("independent", auto, "independent"),
                               ("smooth", auto, "smooth"), ("dependent", dep, "dependent")):
            r = evaluate_video(clip, c, mode)
            rows.append({**r, "label": label, "clip": clip.name})
        print(f"### {clip.name}\n\n{table([r for r in rows if r['clip'] == clip.name])}\n",
              flush=True)
    print(f"### Mean over the {len(clips)} clips\n\n{table(mean_rows(rows))}")
    if a.json is not None:
        a.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
