"""``colorgan report SWEEP_DIR``: one table for a finished or partly finished sweep.
Reads every job folder of a Hydra multirun (its overrides and ``metrics.json``) and writes
``report.csv``, ``report.md`` (one row per job, sorted by a metric) and ``report.png`` (PSNR
against colorfulness); jobs without ``metrics.json`` are listed as ``incomplete``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from colorgan.utils.atomic import atomic_output, write_text_atomic

METRICS = ("psnr", "ssim", "colorfulness", "ciede2000", "train_time_s")
LOWER_IS_BETTER = {"ciede2000", "train_time_s"}
VALUES = ("psnr", "ssim", "colorfulness", "ciede2000", "gray_psnr", "train_time_s")
COLUMNS = ("job", "overrides", "status", *VALUES, "error")


@dataclass
class JobRow:
    job: str
    overrides: list[str]
    status: str
    values: dict[str, float] = field(default_factory=dict)  # METRICS + gray_psnr
    colorfulness_gt: float | None = None
    error: str = ""


@dataclass
class Report:
    rows: list[JobRow]
    common: list[str]  # overrides shared by every job (not repeated per row)
    sort_by: str
    markdown: str
    paths: dict[str, Path]


def _number(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def read_job(job_dir: Path) -> JobRow:
    """One job folder -> its row (never raises: a broken job is a row with its status)."""
    ov_file = job_dir / ".hydra" / "overrides.yaml"
    try:
        overrides = [str(o) for o in OmegaConf.load(ov_file)] if ov_file.is_file() else []
    except Exception as e:  # noqa: BLE001 - a damaged file must not hide the other jobs
        overrides = [f"(unreadable {ov_file.name}: {type(e).__name__})"]
    mfile = job_dir / "metrics.json"
    if not mfile.is_file():
        return JobRow(job_dir.name, overrides, "incomplete",
                      error="no metrics.json (still running, killed or not started)")
    try:
        data = json.loads(mfile.read_text())
    except (OSError, ValueError) as e:
        return JobRow(job_dir.name, overrides, "unreadable", error=f"{mfile}: {e}")
    # a sweep chooses: its table is the val split (train.py's "val"; older runs: top level)
    chosen = data.get("val") or data
    model, flat = chosen.get("model") or {}, data.get("metrics") or {}
    values = {k: _number(model.get(k, flat.get(f"val/{k}"))) for k in METRICS[:4]}
    values["gray_psnr"] = _number((chosen.get("gray_baseline") or {}).get("psnr"))
    values["train_time_s"] = _number(data.get("train_time_s"))
    return JobRow(job_dir.name, overrides, str(data.get("status", "ok")), values,
                  chosen.get("colorfulness_gt"), str(data.get("error") or ""))


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Job folders of a sweep (those with a ``.hydra`` folder or a ``metrics.json``)."""
    dirs = [d for d in sweep_dir.iterdir() if d.is_dir()
            and ((d / ".hydra").is_dir() or (d / "metrics.json").is_file())]
    return sorted(dirs, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit()
                                       else 0, d.name))


def split_overrides(rows: list[JobRow]) -> list[str]:
    """Keep on each row only what differs between jobs; return what all jobs share."""
    if not rows:
        return []
    common = [o for o in rows[0].overrides if all(o in r.overrides for r in rows[1:])]
    for r in rows:
        r.overrides = [o for o in r.overrides if o not in common]
    return common


def sort_rows(rows: list[JobRow], by: str) -> list[JobRow]:
    """Best first by ``by``; failed, incomplete and NaN rows last, in job order."""
    sign = 1.0 if by in LOWER_IS_BETTER else -1.0

    def key(r: JobRow):
        v = r.values.get(by, float("nan"))
        bad = r.status != "ok" or math.isnan(v)
        return (bad, 0.0 if bad else sign * v)

    return sorted(rows, key=key)


def _fmt(v: float, digits: int) -> str:
    return "" if v is None or math.isnan(v) else f"{v:.{digits}f}"


DIGITS = {"psnr": 2, "ssim": 4, "colorfulness": 2, "ciede2000": 2, "gray_psnr": 2,
          "train_time_s": 1}


def to_markdown(rows: list[JobRow], common: list[str], sort_by: str) -> str:
    order = "lower" if sort_by in LOWER_IS_BETTER else "higher"
    header = ("| job | overrides | status | PSNR (dB) | SSIM | colorfulness | CIEDE2000 "
              "| gray PSNR | train time (s) |")
    lines = [f"Sorted by {sort_by} ({order} is better). Common overrides: "
             + (" ".join(common) or "(none)"), "", header, "|---" * 9 + "|"]
    for r in rows:
        cells = [_fmt(r.values.get(k, float("nan")), DIGITS[k]) for k in VALUES]
        status = r.status if not r.error else f"{r.status}: {r.error.splitlines()[0][:80]}"
        lines.append(f"| {r.job} | {' '.join(r.overrides)} | {status.replace('|', '/')} | "
                     + " | ".join(cells) + " |")
    gts = [r.colorfulness_gt for r in rows if r.colorfulness_gt is not None]
    if gts:
        lines += ["", f"Ground-truth colorfulness: {sum(gts) / len(gts):.2f}"]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[JobRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        vals = {k: ("" if math.isnan(v) else v) for k, v in r.values.items()}
        w.writerow([r.job, " ".join(r.overrides), r.status,
                    *[vals.get(k, "") for k in VALUES], r.error])
    return buf.getvalue()


def plot(rows: list[JobRow], target: Path) -> None:
    """PSNR (y) against colorfulness (x), one labelled point per finished job."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.status == "ok" and not math.isnan(r.values.get("psnr", math.nan))]
    fig, ax = plt.subplots(figsize=(7, 5))
    for r in ok:
        x, y = r.values["colorfulness"], r.values["psnr"]
        ax.scatter(x, y, color="tab:blue")
        values = " ".join(o.split("=", 1)[-1] for o in r.overrides)  # e.g. "unet_32 pixel 10"
        ax.annotate(f"{r.job}: {values}"[:40], (x, y), fontsize=7, xytext=(4, 3),
                    textcoords="offset points")
    grays = [r.values["gray_psnr"] for r in ok if not math.isnan(r.values["gray_psnr"])]
    if grays:
        ax.scatter(0.0, sum(grays) / len(grays), marker="x", color="gray",
                   label="gray baseline (ab = 0)")
    gts = [r.colorfulness_gt for r in ok if r.colorfulness_gt is not None]
    if gts:
        ax.axvline(sum(gts) / len(gts), color="tab:green", ls="--", label="ground truth")
    ax.margins(x=0.25, y=0.1)  # room for the labels
    ax.set_xlabel("colorfulness (Hasler & Suesstrunk)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"{len(ok)} of {len(rows)} jobs finished")
    if grays or gts:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_output(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def write_report(sweep_dir: str | Path, sort_by: str = "psnr",
                 out_dir: str | Path | None = None) -> Report:
    """Aggregate ``sweep_dir`` into report.csv / report.md / report.png (in ``out_dir``)."""
    sweep_dir = Path(sweep_dir)
    if sort_by not in METRICS:
        raise ValueError(f"sort_by={sort_by!r} is not a column; choose one of {list(METRICS)}.")
    if sweep_dir.is_file():
        raise ValueError(f"{sweep_dir} is a file; colorgan report reads the folder of a "
                         "multirun (the one holding 0/, 1/, ...), e.g. logs/train/multiruns/<time>.")
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep folder {sweep_dir} does not exist; pass the folder of a "
                                "multirun, e.g. logs/train/multiruns/<time>.")
    dirs = job_dirs(sweep_dir)
    if not dirs:
        raise FileNotFoundError(f"{sweep_dir} has no job folders (<n>/.hydra or <n>/metrics.json);"
                                " is it the folder of a multirun (python train.py -m ...)?")
    rows = [read_job(d) for d in dirs]
    common = split_overrides(rows)
    rows = sort_rows(rows, sort_by)
    out = Path(out_dir) if out_dir else sweep_dir
    paths = {"csv": out / "report.csv", "md": out / "report.md", "png": out / "report.png"}
    markdown = to_markdown(rows, common, sort_by)
    write_text_atomic(paths["csv"], to_csv(rows))
    write_text_atomic(paths["md"], markdown)
    plot(rows, paths["png"])
    return Report(rows, common, sort_by, markdown, paths)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="colorgan report", description=__doc__.splitlines()[0])
    p.add_argument("sweep_dir", help="folder of a multirun, e.g. logs/train/multiruns/<time>")
    p.add_argument("--sort-by", default="psnr", choices=METRICS,
                   help="column to sort by, best first (default: psnr)")
    p.add_argument("-o", "--out", default=None, help="where to write (default: SWEEP_DIR)")
    args = p.parse_args(argv)
    try:
        rep = write_report(args.sweep_dir, args.sort_by, args.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"colorgan report: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # read-only or full target folder
        where = args.out or args.sweep_dir
        print(f"colorgan report: cannot write the report into {where} ({e.strerror or e}: "
              f"{e.filename or where}); pass -o FOLDER with a writable folder.", file=sys.stderr)
        return 2
    print(rep.markdown)
    print("written: " + ", ".join(str(p) for p in rep.paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
