"""What test-time augmentation buys at equal colour (experiments/quality, table 19): one
checkpoint's raw predictions with the flip (the 4 and 8 one-pixel shifts of table 19,
model.tta_shifts, were retired; they were measured at commit 3359f4c), with its vibrance gain
calibrated on the validation split to the target as training does, then measured on the test
split; and, to compare at equal colour,
each read where its test colorfulness is exactly ``--at`` x the truth's (the gain found on
the test split itself, as reading a gain curve does). ``--no-flip`` adds the plain prediction
(one pass: the cost and the PSNR the flip is measured against). Inference only.

    python experiments/quality/tta.py logs/quality/cifar10-s22guid/train/l1 --max-test 2000

The run folder needs config.yaml and checkpoints/last.ckpt (a train.py run on a dataset with
a test split, e.g. data=cifar10).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from colorgan.color import scale_ab  # noqa: E402
from colorgan.metrics import ColorMetrics, colorfulness  # noqa: E402
from colorgan.predictor import Predictor  # noqa: E402


def load(run: Path, max_test: int):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from colorgan.eval import load_model

    for need in (run / "config.yaml", run / "checkpoints" / "last.ckpt"):
        if not need.is_file():
            raise SystemExit(f"{need} is missing: pass the folder of a finished train.py run "
                             "(hydra.run.dir), which holds config.yaml and checkpoints/last.ckpt.")
    cfg = OmegaConf.load(run / "config.yaml")
    if "max_test" in cfg.data:  # CIFAR-10's test split: the first max_test images
        cfg.data.max_test = max_test
    cfg.data.num_workers = 0
    dm = instantiate(cfg.data)
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("test")
    model = load_model(str(run / "checkpoints" / "last.ckpt")).eval()
    if model.cs.mode != "lab":
        raise SystemExit(f"{run}: measured on Lab models (ab out) only.")
    return dm, model


@torch.no_grad()
def predict(dm, model, loader, flip: bool = True):
    """-> raw ab (N, 2, H, W), L input (N, 1, H, W), truth RGB (N, 3, H, W), s per image."""
    raws, ins, reals, seconds = [], [], [], 0.0
    for batch in loader:
        batch = dm.on_after_batch_transfer(batch, 0)
        real_A, _, g_in = model.prepare_batch(batch)
        t0 = time.perf_counter()
        raws.append(Predictor(model.eval_generator(), model.cs.mode, flip).raw(g_in))
        seconds += time.perf_counter() - t0
        ins.append(real_A)
        reals.append(batch["rgb"].float().clamp(0, 1))
    raw = torch.cat(raws)
    return raw, torch.cat(ins), torch.cat(reals), seconds / len(raw)


def decode(model, raw, real_A, gain: float):
    return model.cs.decode(real_A, scale_ab(raw, gain, "image"))  # (N, 3, H, W)


def gain_for(model, raw, real_A, goal: float) -> float:
    """The vibrance gain whose mean colorfulness is ``goal`` (bisection; it grows with gain)."""
    lo, hi = 0.5, 8.0
    for _ in range(25):
        mid = 0.5 * (lo + hi)
        if float(colorfulness(decode(model, raw, real_A, mid)).mean()) < goal:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def measure(model, raw, real_A, real, gain: float | torch.Tensor) -> dict[str, float]:
    """ColorMetrics of the gained prediction: one gain, or one per image (N,)."""
    metrics = ColorMetrics("")
    for i in range(0, len(raw), 500):
        s = slice(i, i + 500)
        g = gain[s] if torch.is_tensor(gain) else gain
        metrics.update(decode(model, raw[s], real_A[s], g), model.cs.gray_rgb(real_A[s]), real[s])
    return {k: float(v) for k, v in metrics.compute().items()}


def equal_colour_args(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The test split's size and the equal-colour readings (tta.py, ensemble.py, ...)."""
    ap.add_argument("--max-test", type=int, default=2000, help="test images (CIFAR-10: 2,000)")
    ap.add_argument("--at", type=float, nargs="+", default=[0.9],
                    help="also read each setting at test colorfulness = these x the truth's")
    ap.add_argument("--at-colour", type=float, nargs="*", default=[],
                    help="... and at these absolute test colorfulness values (e.g. pix2pix's)")
    return ap


def reading_args(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The run, the test split's size, the validation target and the equal-colour readings."""
    ap.add_argument("run", type=Path, help="a train.py run folder (config.yaml, checkpoints/)")
    ap.add_argument("--target", type=float, default=0.92,
                    help="validation calibration: colorfulness = target x the truth's")
    return equal_colour_args(ap)


def main(argv: list[str] | None = None) -> int:
    ap = reading_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--no-flip", action="store_true",
                    help="also measure the plain prediction (no flip, no shifts) first")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    dm, model = load(args.run, args.max_test)
    print(f"# {args.run}: {len(dm.test_dataloader().dataset)} test images; gain calibrated on "
          f"the validation split to {args.target}x\n")
    print("| TTA | read at | gain | PSNR (dB) | SSIM | colorfulness | CIEDE2000 | vs gray (dB) "
          "| ms / image |\n|---|---|---|---|---|---|---|---|---|")
    settings = [("none", False)] if args.no_flip else []
    for name, flip in settings + [("flip", True)]:
        val = predict(dm, model, dm.val_dataloader(), flip)
        test = predict(dm, model, dm.test_dataloader(), flip)
        truth_val = float(colorfulness(val[2]).mean())
        truth_test = float(colorfulness(test[2]).mean())
        reads = [(f"val-calibrated {args.target}x",
                  gain_for(model, val[0], val[1], args.target * truth_val))]
        reads += [(f"test colour {a}x", gain_for(model, test[0], test[1], a * truth_test))
                  for a in args.at]
        reads += [(f"test colour {c:.2f}", gain_for(model, test[0], test[1], c))
                  for c in args.at_colour]
        for label, gain in reads:
            m = measure(model, test[0], test[1], test[2], gain)
            print(f"| {name} | {label} | {gain:.3f} | {m['psnr']:.3f} | {m['ssim']:.4f} | "
                  f"{m['colorfulness']:.2f} | {m['ciede2000']:.2f} | {m['psnr'] - m['gray_psnr']:+.3f} "
                  f"| {1000 * test[3]:.2f} |", flush=True)
    print(f"\nground truth colorfulness: test {truth_test:.2f}; gray PSNR {m['gray_psnr']:.3f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
