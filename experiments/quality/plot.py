"""The PSNR-against-colorfulness picture of experiments/quality: every row of a table as a
point, the gray baseline, the ground truth's colorfulness, and the curves of temperature.sh
(a classification checkpoint's temperatures, or any checkpoint's chroma gains) as lines, and
rows of other tables on the same photos (``--point``, e.g. from the README) as open circles.

    python experiments/quality/plot.py logs/quality/scenes-full \
        --curve "rebalancing 0.8 + EMA=logs/quality/T-best" \
        --point "pix2pix (table 7)=22.64@32.51" -o experiments/quality/scenes.png
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from colorgan.report import job_dirs, read_job  # noqa: E402
from colorgan.utils.atomic import atomic_output  # noqa: E402

KNOBS = {"T": "T {:g}", "G": "x{:g}"}  # temperature.sh folders: T<t> (temperature), G<g> (gain)


def curve_points(folder: Path) -> list[tuple[str, float, float]]:
    """(label, colorfulness, PSNR) of every ``T<t>/`` or ``G<g>/metrics.json`` under
    ``folder``, from the dullest end (high T, low gain)."""
    pts = []
    for d in folder.iterdir() if folder.is_dir() else ():
        m = d / "metrics.json"
        if d.name[:1] in KNOBS and m.is_file():
            tag, value = d.name[0], float(d.name[1:])
            model = json.loads(m.read_text())["model"]
            order = -value if tag == "T" else value
            pts.append((order, KNOBS[tag].format(value), float(model["colorfulness"]),
                        float(model["psnr"])))
    if not pts:
        raise FileNotFoundError(f"{folder} has no T<t>/ or G<g>/metrics.json: run "
                                f"temperature.sh with OUT={folder} first.")
    return [p[1:] for p in sorted(pts)]


def parse_point(text: str) -> tuple[str, float, float]:
    """``LABEL=PSNR@COLORFULNESS`` -> (label, colorfulness, PSNR)."""
    label, _, value = text.rpartition("=")
    psnr, _, colour = value.partition("@")
    try:
        if not label:
            raise ValueError
        return label, float(colour), float(psnr)
    except ValueError:
        raise ValueError(f"--point {text!r}: write LABEL=PSNR@COLORFULNESS, e.g. "
                         "'pix2pix (table 7)=22.64@32.51'") from None


def plot(table: Path, curves: dict[str, Path], target: Path, title: str = "",
         points: tuple[tuple[str, float, float], ...] = ()) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in map(read_job, job_dirs(table))
            if r.status == "ok" and not math.isnan(r.values.get("psnr", math.nan))]
    if not rows:
        raise FileNotFoundError(f"{table} has no finished row (<row>/metrics.json).")
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for r in rows:
        x, y = r.values["colorfulness"], r.values["psnr"]
        ax.scatter(x, y, color="tab:blue", zorder=3)
        ax.annotate(r.job, (x, y), fontsize=8, xytext=(4, 3), textcoords="offset points")
    for label, x, y in points:  # rows measured elsewhere on the same photos
        ax.scatter(x, y, facecolors="none", edgecolors="tab:red", zorder=3)
        ax.annotate(label, (x, y), fontsize=8, xytext=(4, 3), textcoords="offset points",
                    color="tab:red")
    gray = [r.values["gray_psnr"] for r in rows if not math.isnan(r.values["gray_psnr"])]
    if gray:
        ax.scatter(0.0, gray[0], marker="x", s=60, color="black", label="gray (ab = 0)", zorder=3)
    gts = [r.colorfulness_gt for r in rows if r.colorfulness_gt is not None]
    if gts:
        ax.axvline(gts[0], color="tab:green", ls="--", label="ground truth's colorfulness")
        ax.axvline(0.9 * gts[0], color="tab:green", ls=":", label="0.9 x ground truth")
    for label, folder in curves.items():
        pts = curve_points(folder)
        ax.plot([p[1] for p in pts], [p[2] for p in pts], marker=".", label=label)
        for name, x, y in (pts[0], pts[-1]):
            ax.annotate(name, (x, y), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.set_xlabel("colorfulness (Hasler & Suesstrunk; higher = more vivid)")
    ax.set_ylabel("PSNR (dB, higher = closer to the true colour)")
    ax.set_title(title or f"{table.name}: {len(rows)} rows")
    ax.legend(loc="lower left", fontsize=8)
    ax.margins(x=0.12, y=0.08)
    fig.tight_layout()
    with atomic_output(target, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("table", type=Path, help="a run.sh output folder (one sub-folder per row)")
    ap.add_argument("--curve", action="append", default=[],
                    help="LABEL=FOLDER of a temperature.sh run (repeatable)")
    ap.add_argument("--point", action="append", default=[],
                    help="LABEL=PSNR@COLORFULNESS of a row measured elsewhere (repeatable)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    curves = {}
    for c in a.curve:
        if "=" not in c:
            ap.error(f"--curve {c!r}: write LABEL=FOLDER")
        label, folder = c.split("=", 1)
        curves[label] = Path(folder)
    try:
        points = tuple(map(parse_point, a.point))
    except ValueError as e:
        ap.error(str(e))
    n = plot(a.table, curves, a.output, a.title, points)
    print(f"{a.output}: {n} rows, {len(points)} other rows, {len(curves)} curves")


if __name__ == "__main__":
    main()
