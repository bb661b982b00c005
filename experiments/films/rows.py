"""The rows of experiments/films for one clip, through `colorgan eval-video`'s own
evaluate_video (reference frames: the true colour of each shot's first frame, left out of
every row's averages), and the tables."""
from __future__ import annotations

import math
from pathlib import Path

from colorgan.colorize.eval_references import plan_references
from colorgan.colorize.film_eval import evaluate_video

AUTO = ("gray", "independent", "smooth", "naive_copy", "naive_mean")
METRICS = (("psnr_shots", "PSNR per shot (dB)", ".2f"), ("psnr", "PSNR (dB)", ".2f"),
           ("ssim", "SSIM", ".4f"), ("ciede2000", "CIEDE2000", ".2f"), ("cdc", "CDC", ".5f"),
           ("flicker", "flicker", ".3f"))


def clip_rows(clip: Path, colorizer, cuts: list[int] | None, carry: list[tuple[float, bool]],
              modes: tuple[str, ...] = AUTO, batch_size: int = 8) -> list[dict]:
    """One row per mode, then one ``reference`` row per (carry_tau, carry_fill)."""
    plan = plan_references(clip, "first", cuts=cuts)
    rows = [evaluate_video(clip, colorizer, m, batch_size=batch_size, reference_frames=plan)
            for m in modes]
    for tau, fill in carry:
        r = evaluate_video(clip, colorizer, "reference", batch_size=batch_size,
                           reference_frames=plan, carry_tau=tau, carry_fill=fill)
        r["label"] = f"reference (tau {tau:g}, fill {'on' if fill else 'off'})"
        rows.append(r)
    for r in rows:
        r.setdefault("label", r["mode"])
        r["clip"] = clip.name
    return rows


def table(rows: list[dict], first: str = "row") -> str:
    head = [first, "frames", *(name for _, name, _ in METRICS)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        vals = [format(r[k], f) if not math.isnan(r[k]) else "nan" for k, _, f in METRICS]
        out.append(f"| {r['label']} | {r['frames']} | " + " | ".join(vals) + " |")
    return "\n".join(out)


def mean_rows(rows: list[dict]) -> list[dict]:
    """Per label, the mean of each metric over clips (frames: summed)."""
    labels = list(dict.fromkeys(r["label"] for r in rows))
    out = []
    for lab in labels:
        rs = [r for r in rows if r["label"] == lab]
        m = {k: sum(r[k] for r in rs) / len(rs) for k, _, _ in METRICS}
        out.append({"label": lab, "frames": sum(r["frames"] for r in rs), **m, "clips": len(rs)})
    return out


__all__ = ["AUTO", "METRICS", "clip_rows", "mean_rows", "table"]
