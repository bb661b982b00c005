"""Frames side by side for docs/films.md: gray | automatic | reference-guided | truth, for a
few frames of a clip's first shot (its frame 0 given as the reference, as in the tables).

    python experiments/films/picture.py --ckpt C --clip ../shared/data/videos/fire2.mp4 \
        --frames 6 12 24 -o docs/images/films_reference.jpg
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROWS = ("gray", "automatic (independent)", "reference frame 0, carried", "truth")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True)
    p.add_argument("--clip", type=Path, required=True)
    p.add_argument("--frames", type=int, nargs="+", default=[6, 12, 24])
    p.add_argument("--width", type=int, default=240, help="width of each panel")
    p.add_argument("-o", "--output", type=Path, required=True)
    a = p.parse_args()
    import torch

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.colorize.eval_references import gray_frames, plan_references
    from colorgan.colorize.films import colorize_stream
    from colorgan.colorize.temporal import TemporalColorizer
    from colorgan.video.io import read_frames

    c = Colorizer.from_checkpoint(a.ckpt, device="cpu")
    plan = plan_references(a.clip, "first", max(a.frames) + 1)
    refs = {0: plan.refs[0]}
    modes = {"auto": TemporalColorizer(c, "independent"),
             "ref": TemporalColorizer(c, "independent", known_cuts=plan.cuts, references=refs)}
    grid: dict[str, list[np.ndarray]] = {k: [] for k in ("gray", "auto", "ref", "truth")}
    for key, tc in modes.items():
        for batch, fake, _ in colorize_stream(read_frames(a.clip, max(a.frames) + 1), tc):
            for f, img in zip(batch, fake):
                if f.index in a.frames:
                    grid[key].append(img.permute(1, 2, 0).numpy())
                    if key == "auto":
                        real = torch.from_numpy(f.rgb).permute(2, 0, 1)[None]
                        grid["gray"].append(gray_frames(real)[0].permute(1, 2, 0).numpy())
                        grid["truth"].append(f.rgb)
    h = round(a.width * grid["truth"][0].shape[0] / grid["truth"][0].shape[1])
    label_w, pad = 150, 4
    out = Image.new("RGB", (label_w + len(a.frames) * (a.width + pad), 4 * (h + pad) + 20), "white")
    draw = ImageDraw.Draw(out)
    for j, t in enumerate(a.frames):
        draw.text((label_w + j * (a.width + pad) + 4, 4), f"frame {t}", fill="black")
    for i, (key, name) in enumerate(zip(("gray", "auto", "ref", "truth"), ROWS)):
        y = 20 + i * (h + pad)
        draw.text((4, y + h // 2 - 6), name, fill="black")
        for j, img in enumerate(grid[key]):
            out.paste(Image.fromarray(img).resize((a.width, h), Image.LANCZOS),
                      (label_w + j * (a.width + pad), y))
    a.output.parent.mkdir(parents=True, exist_ok=True)
    out.save(a.output, quality=88)
    print(f"{a.output}: {out.size[0]}x{out.size[1]}")


if __name__ == "__main__":
    main()
