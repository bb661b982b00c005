"""The tables and the plot of experiments/hints from the metrics.json files run.sh wrote:

    python experiments/hints/table.py logs/hints/<run> --plot docs/images/hints_psnr_points.png

``<run>/best/p<N>``, ``<run>/hints/p<N>`` (with ``hint_baselines``) and
``<run>/hints_<self|class>/p<N>`` hold one eval.py run each (N simulated points per photo).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from colorgan.utils.atomic import atomic_output  # noqa: E402

METRICS = (("psnr", "PSNR (dB)", 2), ("ssim", "SSIM", 4), ("ciede2000", "CIEDE2000", 2))
ROWS = (("gray", "gray (ab = 0)"), ("best", "scenes64_best (automatic: ignores the points)"),
        ("hints", "scenes64_hints (shipped: the mix with Levin's fill near the points)"),
        ("hints_raw", "scenes64_hints, the network alone (hints.mix=0)"),
        ("levin", "Levin et al. 2004"),
        ("nearest", "nearest hint"), ("nearest_l", "nearest hint + L"))
REFERENCES = (("hints", "none"), ("hints_self", "the photo's own palette"),
              ("hints_class", "another test photo of its class folder"))


def load(folder: Path) -> dict[int, dict]:
    """p<N>/metrics.json under ``folder`` -> {N: payload}."""
    out = {}
    for m in sorted(folder.glob("p*/metrics.json")):
        payload = json.loads(m.read_text())
        out[int(payload["hints"]["points"])] = payload
    return out


def rows(run: Path) -> tuple[list[int], dict[str, dict[int, dict]]]:
    """Points and {row: {points: metrics}} (the fills at 0 points are gray: nothing to fill)."""
    best, hints = load(run / "best"), load(run / "hints")
    raw = load(run / "hints_raw")
    if not hints:
        raise SystemExit(f"{run}/hints/p*/metrics.json not found: run experiments/hints/run.sh.")
    points = sorted(hints)
    table: dict[str, dict[int, dict]] = {name: {} for name, _ in ROWS}
    for n in points:
        table["gray"][n] = hints[n]["gray_baseline"]
        table["hints"][n] = hints[n]["model"]
        if n in raw or n == 0:  # at 0 points the mix does nothing
            table["hints_raw"][n] = (raw.get(n) or hints[n])["model"]
        if best:  # it ignores the points: where not run, its numbers at 0 points (run.py)
            table["best"][n] = best.get(n, best.get(0, {})).get("model")
        fills = hints[n].get("hint_baselines") or {}
        for name in ("levin", "nearest", "nearest_l"):
            table[name][n] = fills.get(name, hints[n]["gray_baseline"] if n == 0 else None)
    return points, table


def markdown(run: Path) -> str:
    points, table = rows(run)
    hints = load(run / "hints")
    first = hints[points[0]]
    out = [f"{first['num_images']} test photos at {first['image_size']} px, points of "
           f"{first['hints']['side']}x{first['hints']['side']} px, hints.seed="
           f"{first['hints']['seed']}; no reference. At 0 points the fills are gray.\n"]
    for key, title, digits in METRICS:
        out.append(f"| {title} | " + " | ".join(f"{n} pts" for n in points) + " |")
        out.append("|---" * (len(points) + 1) + "|")
        for name, label in ROWS:
            cells = [table[name].get(n) for n in points]
            if any(c is not None for c in cells):
                out.append(f"| {label} | " + " | ".join(
                    "" if c is None else f"{c[key]:.{digits}f}" for c in cells) + " |")
        out.append("")
    refs = {name: load(run / name) for name, _ in REFERENCES}
    ref_points = sorted(set(refs["hints_self"]) | set(refs["hints_class"]))
    if ref_points:
        out.append("| global hint (scenes64_hints) | " + " | ".join(
            f"{n} pts: PSNR / SSIM / CIEDE2000" for n in ref_points) + " |")
        out.append("|---" * (len(ref_points) + 1) + "|")
        for name, label in REFERENCES:
            cells = [refs[name].get(n) for n in ref_points]
            out.append(f"| {label} | " + " | ".join(
                "" if c is None else f"{c['model']['psnr']:.2f} / {c['model']['ssim']:.4f} / "
                f"{c['model']['ciede2000']:.2f}" for c in cells) + " |")
        out.append("")
    out += goals(table, refs)
    return "\n".join(out)


def goals(table: dict[str, dict[int, dict]], refs: dict[str, dict[int, dict]]) -> list[str]:
    """The issue's goals, measured (a line each; '?' where a row was not run)."""
    def psnr(row: str, n: int) -> float | None:
        c = table[row].get(n)
        return None if c is None else float(c["psnr"])

    lines = ["Goals (PSNR):"]
    b0, h0, g = psnr("best", 0), psnr("hints", 0), psnr("gray", 0)
    if b0 is not None and h0 is not None:
        lines.append(f"- 0 points within 0.3 dB of scenes64_best: {h0:.2f} vs {b0:.2f} "
                     f"({h0 - b0:+.2f} dB): {'met' if h0 >= b0 - 0.3 else 'not met'}")
    h10 = psnr("hints", 10)
    if h10 is not None and g is not None:
        classic = max((psnr(r, 10) or float("-inf")) for r in ("levin", "nearest", "nearest_l"))
        lines.append(f"- 10 points >= gray + 4 dB: {h10:.2f} vs {g:.2f} ({h10 - g:+.2f} dB): "
                     f"{'met' if h10 >= g + 4 else 'not met'}")
        lines.append(f"- 10 points >= the best classic fill + 1 dB: {h10:.2f} vs {classic:.2f} "
                     f"({h10 - classic:+.2f} dB): {'met' if h10 >= classic + 1 else 'not met'}")
        lines.append(f"- moonshot, 10 points >= gray + 5.5 dB: {h10 - g:+.2f} dB: "
                     f"{'met' if h10 >= g + 5.5 else 'not met'}")
    own = refs.get("hints_self", {}).get(0)
    if own is not None and g is not None:
        p = float(own["model"]["psnr"])
        lines.append(f"- own palette only >= gray + 2.5 dB: {p:.2f} vs {g:.2f} ({p - g:+.2f} dB): "
                     f"{'met' if p >= g + 2.5 else 'not met'}")
    return lines


def plot(run: Path, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, table = rows(run)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, label in ROWS:
        pts = [(n, table[name][n]["psnr"]) for n in points if table[name].get(n) is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", ms=4, label=label.split(" (")[0],
                    ls="--" if name == "gray" else "-")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks(points, [str(n) for n in points])
    ax.set_xlabel("simulated points per photo (3x3 px, the true patch's mean colour)")
    ax.set_ylabel("PSNR (dB), test split")
    ax.set_title("Scene photos, 64 px: PSNR against the number of hints")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, help="the OUT folder of run.sh")
    p.add_argument("--plot", type=Path, help="write the PSNR-against-points plot here")
    args = p.parse_args(argv)
    print(markdown(args.run))
    if args.plot:
        plot(args.run, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
