"""Which optical flow carries a reference frame, chosen on VALIDATION (clips.py val): DIS
presets for the chain (frame to frame) and for the flow from the reference, the latter at half
size, or computed every k-th frame and moved by the chain in between. Prints PSNR per shot,
CDC and the flows' milliseconds per frame at the 256x192 carry grid of a 480p film.
With the carry's fill off the generator is not called (a random-weights U-Net stands in).

    python experiments/films/flows.py --val OUT/val
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from rows import mean_rows  # noqa: E402

import colorgan.colorize.shot_references as shot_references  # noqa: E402
from colorgan.colorize import carry  # noqa: E402

ROWS = [("medium", "medium"), ("fast", "medium"), ("ultrafast", "medium"), ("fast", "fast"),
        ("fast", "half"), ("fast", "every2")]


def carrier(chain: str, direct: str):
    """A ShotCarrier whose chain and reference flows are the named ones."""
    cv2 = carry._cv2()

    class Half:  # the flow from the reference at half size, upsampled
        def __init__(self) -> None:
            self.dis = carry._dis("medium")

        def calc(self, a, b, _):
            h, w = a.shape
            small = [cv2.resize(x, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for x in (a, b)]
            flow = self.dis.calc(*small, None)
            return cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) * 2.0

    class Every2:  # the flow from the reference on every other frame, the chain's between
        def __init__(self, owner) -> None:
            self.dis, self.owner, self.k, self.last = carry._dis("medium"), owner, 0, None

        def calc(self, a, b, _):
            self.k += 1
            chain = self.owner.last_chain
            if self.last is None or self.k % 2 or chain is None:
                self.last = self.dis.calc(a, b, None)
                return self.last
            gx, gy = self.owner._grid
            mx, my = gx + chain[..., 0], gy + chain[..., 1]
            moved = carry._remap(self.last, mx, my)  # the reference flow of where it came from
            self.last = moved + chain
            return self.last

    class Recording:
        def __init__(self, owner, dis) -> None:
            self.owner, self.dis = owner, dis

        def calc(self, a, b, _):
            self.owner.last_chain = self.dis.calc(a, b, None)
            return self.owner.last_chain

    class Carrier(carry.ShotCarrier):
        def __init__(self, ref, tau=carry.TAU, preset="medium"):
            super().__init__(ref, tau, "medium")
            self.last_chain = None
            self.chain_flow = Recording(self, carry._dis(chain))
            self.flow = {"half": Half, "every2": lambda: Every2(self)}.get(
                direct, lambda: carry._dis(direct))()

    return Carrier


def flow_ms(make, clip: Path, frames: int = 40) -> float:
    """Milliseconds per frame of both flows on a 480p clip's frames at the carry grid."""
    from colorgan.video.io import read_frames
    cv2 = carry._cv2()
    grays = [cv2.resize(f.yuv[0], (256, 192), interpolation=cv2.INTER_AREA)
             for f in read_frames(clip, frames, planes=True)]
    c = make(torch.zeros(3, 192, 256, dtype=torch.uint8))
    t0 = time.perf_counter()
    for g in grays[1:]:
        c.chain_flow.calc(g, grays[0], None)
        c.flow.calc(g, grays[0], None)
    return 1000 * (time.perf_counter() - t0) / (len(grays) - 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", type=Path, required=True, help="folder written by clips.py val")
    p.add_argument("--timing-clip", type=Path,
                   default=Path(__file__).resolve().parents[3] / "shared/data/videos/test.webm")
    a = p.parse_args()
    from colorgan.colorize.eval_references import plan_references
    from colorgan.colorize.film_eval import evaluate_video
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from video_throughput import make_colorizer
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    c = make_colorizer("unet_64", 64, "cpu")  # random weights: the carry does not call it
    print("| chain flow | flow from the reference | PSNR per shot (dB) | CDC | flows, ms/frame |\n"
          "|---|---|---|---|---|")
    for chain, direct in ROWS:
        make = carrier(chain, direct)
        shot_references.ShotCarrier = make
        rows = []
        for clip in sorted(a.val.glob("val_*.mp4")):
            plan = plan_references(clip, "first", cuts=[])
            rows.append({**evaluate_video(clip, c, "reference", reference_frames=plan),
                         "label": "reference"})
        m = mean_rows(rows)[0]
        ms = flow_ms(make, a.timing_clip) if a.timing_clip.is_file() else float("nan")
        print(f"| {chain} | {direct} | {m['psnr_shots']:.2f} | {m['cdc']:.5f} | {ms:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
