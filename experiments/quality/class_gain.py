"""Per-class vibrance gains against one gain for all, at equal colour (experiments/quality,
tables 20-21). A class-guided checkpoint's raw predictions (flip and shift averaging as the
checkpoint has them) on the validation and test splits; the per-class gains are calibrated on
validation as ``model.chroma_per_class`` does (colorgan/models/class_gain.py), then measured on
test: at the validation-calibrated target (what eval and colorize would use), and, to compare
at equal colour, where the test colour is exactly ``--at`` x the truth's or ``--at-colour`` (a
path of validation goals, read by linear interpolation; the uniform gain is read by bisection,
as experiments/quality/tta.py does). Rows: one gain; the posterior rule (a gain per photo from
the head's class probabilities); one gain per predicted class (the argmax rule); one gain per
true class (an oracle: labels a photo to colorize does not have). Inference only.

    python experiments/quality/class_gain.py logs/quality/cifar10-s22guid/train/l1 --at 0.9 \\
        --at-colour 33.92 30.74

The run folder needs config.yaml and checkpoints/last.ckpt of a class-guided train.py run
(model.class_guidance.enabled=true) on a dataset with a test split, e.g. data=cifar10.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tta import gain_for, load, measure, reading_args  # noqa: E402

from colorgan.metrics import colorfulness  # noqa: E402
from colorgan.models.class_gain import (  # noqa: E402
    WIDE_GAINS,
    ClassGainCurve,
    class_gains,
    posterior_gains,
    posterior_table,
)
from colorgan.models.tta import tta_predict  # noqa: E402


@torch.no_grad()
def predict(dm, model, loader, shifts: int):
    """-> raw ab (N, 2, H, W), L (N, 1, H, W), truth RGB (N, 3, H, W), predicted and true
    classes (N,) each, class probabilities (N, K)."""
    raws, ins, reals, pred, true = [], [], [], [], []
    for batch in loader:
        batch = dm.on_after_batch_transfer(batch, 0)
        real_A, _, g_in = model.prepare_batch(batch)
        raws.append(tta_predict(model.eval_generator(), g_in, True, shifts))
        pred.append(model.guidance.logits(model.netG, g_in).softmax(1))  # (B, K)
        true.append(model.guidance_labels(batch).long())  # classes, or colourfulness
        ins.append(real_A)
        reals.append(batch["rgb"].float().clamp(0, 1))
    probs = torch.cat(pred)
    return (*(torch.cat(t) for t in (raws, ins, reals)), probs.argmax(1), torch.cat(true), probs)


def curve(model, split, classes, k: int, probs=None) -> ClassGainCurve:
    c = ClassGainCurve(k)
    raw, real_A, real = split[:3]
    for i in range(0, len(raw), 500):
        s = slice(i, i + 500)
        c.update(model.cs, real_A[s], raw[s], real[s], "image", classes[s],
                 None if probs is None else probs[s])
    return c


def read_at(points: list[tuple[float, dict]], goal: float) -> dict[str, float] | None:
    """Linear interpolation of the metrics along a path of (test colour, metrics) at ``goal``."""
    points = sorted(points, key=lambda p: p[0])
    for (c0, m0), (c1, m1) in zip(points, points[1:]):
        if c0 <= goal <= c1 and c1 > c0:
            t = (goal - c0) / (c1 - c0)
            return {k: m0[k] + t * (m1[k] - m0[k]) for k in m0}
    return None


def per_class(model, row, name: str, rule, test, target: tuple[float, float],
              scale: float, goals) -> None:
    """The per-class rows: at the validation ``target`` (fraction, colour), then read at each
    test goal along a path of validation goals around them (``scale``: the validation truth's
    colour over the test's). ``rule(goal)`` -> (each test image's gain (N,), what to print)."""
    def measured(goal: float) -> tuple[str, dict[str, float]]:
        gains, shown = rule(goal)
        return shown, measure(model, *test[:3], gains)

    shown, m = measured(target[1])
    row(name, f"val-calibrated {target[0]}x", m, shown)
    lo, hi = (f(g for _, g in goals) * scale for f in (min, max))
    path = [(m["colorfulness"], m) for m in
            (measured(goal)[1] for goal in torch.linspace(0.85 * lo, 1.15 * hi, 41).tolist())]
    for label, goal in goals:
        m = read_at(path, goal)
        if m is not None:
            row(name, f"test colour {label}", m, "(interpolated)")


def row(name: str, label: str, m: dict, gains: str) -> None:
    """One table row: a rule, where it is read, its metrics and its gains."""
    print(f"| {name} | {label} | {m['psnr']:.3f} | {m['ssim']:.4f} | {m['colorfulness']:.2f} "
          f"| {m['ciede2000']:.2f} | {m['psnr'] - m['gray_psnr']:+.3f} | {gains} |", flush=True)


def one_gain_rows(model, val, test, target: float, goals) -> None:
    """The one-gain rows: calibrated on validation to ``target`` x its truth's colour, then
    at each test goal (label, colour)."""
    g = gain_for(model, val[0], val[1], target * float(colorfulness(val[2]).mean()))
    row("one gain", f"val-calibrated {target}x", measure(model, *test[:3], g), f"{g:.3f}")
    for label, goal in goals:
        g = gain_for(model, test[0], test[1], goal)
        row("one gain", f"test colour {label}", measure(model, *test[:3], g), f"{g:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = reading_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--shifts", type=int, default=None,
                    help="one-pixel shifts on top of the flip; default: the checkpoint's")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    dm, model = load(args.run, args.max_test)
    if model.guidance is None:
        raise SystemExit(f"{args.run}: no class-guidance head; train with "
                         "model.class_guidance.enabled=true on a class-folder dataset.")
    shifts = int(model.hparams.get("tta_shifts") or 0) if args.shifts is None else args.shifts
    k = model.guidance.head[-1].out_features
    val = predict(dm, model, dm.val_dataloader(), shifts)
    test = predict(dm, model, dm.test_dataloader(), shifts)
    truth_val = float(colorfulness(val[2]).mean())
    truth = float(colorfulness(test[2]).mean())
    acc = [float((s[3] == s[4]).float().mean()) for s in (val, test)]
    print(f"# {args.run}: {len(test[0])} test images, flip + {shifts} shifts; class accuracy "
          f"{acc[0]:.3f} (validation), {acc[1]:.3f} (test); gains calibrated on validation\n")
    goals = [(f"{a}x", a * truth) for a in args.at] + [(f"{c:.2f}", c) for c in args.at_colour]
    print("| gain | read at | PSNR (dB) | SSIM | colorfulness | CIEDE2000 | vs gray (dB) | gains |")
    print("|---|---|---|---|---|---|---|---|")

    one_gain_rows(model, val, test, args.target, goals)
    target, scale = (args.target, args.target * truth_val), truth_val / truth
    by_label = curve(model, val, val[4], k, probs=val[5])
    sums, per_image = by_label.compute()[:3], by_label.per_image()

    def posterior(goal: float) -> tuple[torch.Tensor, str]:
        table, lam = posterior_table(*sums, *per_image, goal)[:2]
        gains = posterior_gains(table, test[5])  # (N,)
        return gains, (f"lambda {lam:.4f}; gains {float(gains.min()):.1f}-"
                       f"{float(gains.max()):.1f}, median {float(gains.median()):.1f}")

    per_class(model, row, "posterior (class probabilities)", posterior, test, target, scale, goals)
    for name, col in (("per predicted class", 3), ("per true class (oracle)", 4)):
        class_sums = curve(model, val, val[col], k).compute()[:3]

        def hard(goal: float, class_sums=class_sums, col=col) -> tuple[torch.Tensor, str]:
            gains = class_gains(WIDE_GAINS, *class_sums, goal, fallback=1.0)[0]
            return torch.tensor(gains)[test[col]], " ".join(f"{x:.2f}" for x in gains)

        per_class(model, row, name, hard, test, target, scale, goals)
    print(f"\nground truth colorfulness: test {truth:.2f}; gray PSNR "
          f"{measure(model, *test[:3], 0.0)['gray_psnr']:.3f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
