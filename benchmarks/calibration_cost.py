"""What per-class chroma calibration (model.chroma_per_class) costs against the one-gain
calibration (model.chroma_target), and what its class pass costs at inference.

(a) baseline: the uniform gain curve (colorgan/models/calibration.py, 36 gains) per 1,000
    validation images; (b) the per-class curve (colorgan/models/class_gain.py, 76 gains, per-image
    PSNR too), which only the last epoch's validation computes; (c) inference: flip + 4 shifts
    (what cifar32_best runs, 10 generator passes) against (d) the same plus the guidance head's
    class pass. CIFAR-10 sizes: 32 px, batch 64, cifar32_best's U-Net.

    python benchmarks/calibration_cost.py            # prints a markdown table
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.color import ColorSpace  # noqa: E402
from colorgan.models.calibration import GainCurve  # noqa: E402
from colorgan.models.class_gain import ClassGainCurve  # noqa: E402
from colorgan.models.guidance import ClassGuidance  # noqa: E402
from colorgan.models.tta import tta_predict  # noqa: E402
from colorgan.models.unet import UNetGenerator  # noqa: E402


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    cs = ColorSpace("lab")
    rgb = torch.rand(args.batch, 3, args.size, args.size)
    real_A, real_B = cs.encode(rgb)
    raw = real_B * 0.4  # a dull prediction
    classes = torch.randint(0, 10, (args.batch,))
    uniform, per_class = GainCurve(), ClassGainCurve(10)
    netG = UNetGenerator(1, 2, widths=[32, 64, 128, 256, 256, 256], first_stride=1,
                         dropout=0.3, n_dropout=2).eval()
    head = ClassGuidance(netG, 10).eval()
    per_1000 = 1000.0 / args.batch
    with torch.no_grad():
        rows = [
            ("(a) uniform gain curve, 36 gains (baseline)",
             best_of(lambda: uniform.update(cs, real_A, raw, rgb, "image"), args.repeats)),
            ("(b) per-class curve, 76 gains (last epoch only)",
             best_of(lambda: per_class.update(cs, real_A, raw, rgb, "image", classes),
                     args.repeats)),
            ("(c) inference: flip + 4 shifts (baseline)",
             best_of(lambda: tta_predict(netG, real_A, True, 4), args.repeats)),
            ("(d) inference: flip + 4 shifts + the class pass",
             best_of(lambda: (tta_predict(netG, real_A, True, 4), head.classify(netG, real_A)),
                     args.repeats)),
        ]
    print(f"| step | s per 1,000 images ({args.size} px, batch {args.batch}, "
          f"{torch.get_num_threads()} threads) | vs its baseline |\n|---|---|---|")
    for i, (name, seconds) in enumerate(rows):
        base = rows[0 if i < 2 else 2][1]
        print(f"| {name} | {seconds * per_1000:.2f} | {seconds / base:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
