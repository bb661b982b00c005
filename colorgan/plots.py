"""Pictures of a run: the four loss curves people read (discriminator, adversarial,
reconstruction, total) and validation PSNR against the gray baseline."""
from __future__ import annotations

import csv
import math
from pathlib import Path

CURVES = (("train/loss_D", "discriminator (loss_D)"),
          ("train/loss_G_GAN", "adversarial (loss_G_GAN)"),
          ("train/loss_G_rec", "reconstruction (loss_G_rec)"),
          ("train/loss_G", "total generator (loss_G)"))


def _read_columns(metrics_csv: Path) -> dict[str, list[tuple[float, float]]]:
    cols: dict[str, list[tuple[float, float]]] = {}
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            step = float(row.get("step") or "nan")
            for key, value in row.items():
                if key != "step" and value not in ("", None):
                    cols.setdefault(key, []).append((step, float(value)))
    return cols


def plot_training_curves(metrics_csv: str | Path, out_png: str | Path) -> Path | None:
    """CSVLogger's metrics.csv -> a PNG of the loss curves and val PSNR. None if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics_csv, out_png = Path(metrics_csv), Path(out_png)
    if not metrics_csv.is_file():
        return None
    cols = _read_columns(metrics_csv)
    # per-step values when logged often enough, else per-epoch means
    curves = [(k + sfx, label) for k, label in CURVES for sfx in ("_step", "_epoch")
              if cols.get(k + sfx) and not (sfx == "_epoch" and cols.get(k + "_step"))]
    if not curves:
        return None
    fig, axes = plt.subplots(1, len(curves) + 1, figsize=(4 * (len(curves) + 1), 3.2))
    for ax, (key, label) in zip(axes, curves):
        steps, values = zip(*[(s, v) for s, v in cols[key] if math.isfinite(v)])
        ax.plot(steps, values, lw=1)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("training batch")
    ax = axes[-1]
    for key, label in (("val/psnr", "model"), ("val/gray_psnr", "gray baseline")):
        if cols.get(key):
            steps, values = zip(*cols[key])
            ax.plot(steps, values, marker="o", label=label)
    ax.set_title("val PSNR (dB)", fontsize=9)
    ax.set_xlabel("training batch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
