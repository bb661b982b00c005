"""Does the shape of the chroma gain matter? One checkpoint's validation predictions stretched
four ways, compared at equal colorfulness (experiments/quality/TABLES.md, table 10):

- uniform: one vibrance gain for every photo (model.chroma_center=image, what colorgan ships);
- confident: photo i's gain grows with the colorfulness of its own prediction, 1 + k (c_i/c)^p
  (more colour where the model already dares some);
- equalising: the opposite, 1 + k (c/c_i)^p (dull predictions stretched most);
- per-pixel: each pixel's deviation from the photo's mean chroma stretched by k (|d|/rms)^gamma
  (gamma > 0: the strong, confident deviations most).

    python experiments/quality/gain_shapes.py logs/quality/scenes-best-auto

The run folder needs config.yaml and checkpoints/last.ckpt (a train.py run). Inference only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from colorgan.color import scale_ab  # noqa: E402
from colorgan.metrics import colorfulness  # noqa: E402

KS = [1.0 + 0.1 * i for i in range(4, 21)]  # uniform gains 1.4-3.0


def predictions(run: Path):
    """The checkpoint's raw (ungained) predictions on its validation split, with its inputs
    and the truth: (B, C, H, W) each, and the model (for decoding)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from colorgan.models.gan_module import ColorizationGAN

    for need in (run / "config.yaml", run / "checkpoints" / "last.ckpt"):
        if not need.is_file():
            raise SystemExit(f"{need} is missing: pass the folder of a finished train.py run "
                             "(hydra.run.dir), which holds config.yaml and checkpoints/last.ckpt.")
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.data.num_workers = 0
    dm = instantiate(cfg.data)
    dm.setup("validate")
    model = ColorizationGAN.load_from_checkpoint(run / "checkpoints" / "last.ckpt",
                                                 map_location="cpu").eval()
    if model.cs.mode != "lab":
        raise SystemExit(f"{run}: gain shapes are measured on Lab models (ab out) only.")
    raws, ins, reals = [], [], []
    with torch.no_grad():
        for batch in dm.val_dataloader():
            batch = dm.on_after_batch_transfer(batch, 0)
            real_A, _, g_in = model.prepare_batch(batch)
            raws.append(model.predictor.raw(g_in))  # EMA weights, flip averaging: as shipped
            ins.append(real_A)
            reals.append(batch["rgb"].float())
    return torch.cat(raws), torch.cat(ins), torch.cat(reals), model


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,) per-photo PSNR in dB of RGB in [0, 1], as colorgan's metrics average it."""
    return peak_signal_noise_ratio(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3))


def shapes(raw: torch.Tensor, decode) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """Stretched ab (B, 2, H, W) per shape and strength; ``decode``: ab -> RGB (B, 3, H, W)."""
    mean = raw.mean(dim=(-2, -1), keepdim=True)  # (B, 2, 1, 1)
    dev = raw - mean
    mag = dev.norm(dim=1, keepdim=True)  # (B, 1, H, W)
    rms = mag.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt().clamp_min(1e-6)
    c = colorfulness(decode(raw))  # (B,) each photo's predicted colorfulness
    rel = (c / c.mean()).clamp_min(1e-3).view(-1, 1, 1, 1)

    def stretch(g):  # g: (B, 1, 1, 1) or (B, 1, H, W)
        return (mean + g * dev).clamp(-1, 1)
    out = {"uniform": [(f"x{k:.1f}", scale_ab(raw, k, "image")) for k in KS]}  # as shipped
    for p in (0.5, 1.0):
        out[f"confident p={p:g}"] = [(f"k={k:.1f}", stretch(1 + k * rel ** p))
                                     for k in (0.6, 0.8, 1.0, 1.2, 1.4)]
    out["equalising p=0.5"] = [(f"k={k:.1f}", stretch((1 + k * rel ** -0.5).clamp(max=6)))
                               for k in (0.6, 0.8, 1.0, 1.2, 1.4)]
    for gamma in (-0.25, 0.25):
        out[f"per-pixel gamma={gamma:g}"] = [
            (f"k={k:.1f}", stretch(k * (mag / rms).clamp_min(1e-6) ** gamma))
            for k in (1.6, 1.8, 2.0, 2.2, 2.4, 2.6)]
    return out


def at(points: list[tuple[float, float]], c: float) -> float | None:
    """PSNR at colorfulness c, linearly interpolated between the two neighbouring points."""
    pts = sorted(points)
    for (c0, p0), (c1, p1) in zip(pts, pts[1:]):
        if c0 <= c <= c1:
            return p0 + (p1 - p0) * (c - c0) / max(c1 - c0, 1e-9)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--at", type=float, nargs="+", default=[0.9, 0.92, 1.0],
                    help="fractions of the truth's colorfulness to compare the shapes at")
    args = ap.parse_args()
    raw, real_A, real, model = predictions(args.run)

    def decode(ab):
        return model.cs.decode(real_A, ab)
    truth = float(colorfulness(real).mean())
    curves = {}
    for name, variants in shapes(raw, decode).items():
        curves[name] = []
        for label, ab in variants:
            rgb = decode(ab)
            curves[name].append((float(colorfulness(rgb).mean()), float(psnr(rgb, real).mean()),
                                 label))
    fr = args.at
    print(f"{args.run}: {len(raw)} validation photos, truth colorfulness {truth:.2f}\n")
    print("| shape | " + " | ".join(f"PSNR at {f:g}x ({f * truth:.1f})" for f in fr)
          + " | points: strength PSNR @ colorfulness |")
    print("|---|" + "---|" * (len(fr) + 1))
    base = {f: at([(c, p) for c, p, _ in curves["uniform"]], f * truth) for f in fr}
    for name, pts in curves.items():
        cells = []
        for f in fr:
            v = at([(c, p) for c, p, _ in pts], f * truth)
            cells.append("out of range" if v is None else
                          f"{v:.2f}" + ("" if name == "uniform" or base[f] is None
                                        else f" ({v - base[f]:+.2f})"))
        shown = "; ".join(f"{lab} {p:.2f} @ {c:.1f}" for c, p, lab in pts)
        print(f"| {name} | " + " | ".join(cells) + f" | {shown} |")


if __name__ == "__main__":
    main()
