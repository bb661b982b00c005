"""Images per second delivered by each colorgan dataset from disk, at 0 (in-process), 1, 2
and N DataLoader workers, against a plain-PIL decode baseline measured in the same run.

    python benchmarks/data_throughput.py                      # 256 px, 1/2/N workers
    python benchmarks/data_throughput.py --images 256 --workers 0 1 2 --size 256

Datasets: ``folder`` (256 px JPEGs written to a temp dir, like Places365 small), ``cifar10``
(the 32 px JPEG folder copy in ../shared/data, if present), ``video_frames`` (the frame cache
of ../shared/data/videos, if present) and ``synthetic`` (drawn on the fly). Prints a markdown
table and how many cores it takes to feed ``--target`` images/s (a fast GPU step).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.color import float_to_uint8
from colorgan.data.cifar10 import CIFAR10DataModule
from colorgan.data.folder import FolderDataModule
from colorgan.data.synthetic import SyntheticDataModule, render_scene
from colorgan.data.video_frames import VideoFramesDataModule

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_jpegs(folder: Path, n: int, size: int) -> list[Path]:
    """n distinct size x size JPEGs (quality 90), drawn with the synthetic scene renderer."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        arr = float_to_uint8(render_scene(size, seed=i)).permute(1, 2, 0).numpy()
        paths.append(folder / f"{i:05d}.jpg")
        Image.fromarray(arr).save(paths[-1], quality=90)
    return paths


def pil_baseline(paths: list[Path]) -> float:
    """Decode + convert to RGB with PIL in this process: images/s on one core."""
    t0 = time.perf_counter()
    for p in paths:
        with Image.open(p) as im:
            im.convert("RGB").load()
    return len(paths) / (time.perf_counter() - t0)


def throughput(dm, workers: int, images: int) -> float:
    """Images/s from the train loader (workers started before the clock runs)."""
    dm.num_workers = workers
    loader = dm.train_dataloader()
    next(iter(loader))  # start-up and the first batch are not counted
    n, t0 = 0, time.perf_counter()
    while n < images:  # small datasets: several epochs (persistent workers)
        for batch in loader:
            n += batch["rgb"].shape[0]
            if n >= images:
                break
    rate = n / (time.perf_counter() - t0)
    del loader
    return rate


def datamodules(tmp: Path, args) -> dict:
    kw = {"batch_size": args.batch_size, "augment": {"enabled": False}}
    folder = tmp / "jpegs"
    make_jpegs(folder, args.images + 2 * args.batch_size, args.size)
    dms = {f"folder ({args.size} px JPEG)": FolderDataModule(
        root=str(folder), image_size=args.size, val_fraction=0.01, cache_dir=str(tmp / "c"), **kw)}
    zpath = SHARED / "cifar10-images.zip"
    if zpath.is_file():
        with zipfile.ZipFile(zpath) as z:
            names = [n for n in z.namelist() if "/train/" in n and n.endswith(".jpg")]
            z.extractall(tmp / "cifar", names[: args.images * 2])
        dms["cifar10 (32 px JPEG)"] = CIFAR10DataModule(
            root=str(tmp / "cifar" / "CIFAR-10-images"), image_size=32,
            cache_dir=str(tmp / "c"), **kw)
    if (SHARED / "videos").is_dir():
        dms[f"video_frames ({args.size} px, cached)"] = VideoFramesDataModule(
            root=str(SHARED / "videos"), fps=None, split_by="video", image_size=args.size,
            cache_dir=str(tmp / "frames"), **kw)
    dms[f"synthetic ({args.size} px, drawn)"] = SyntheticDataModule(
        num_train=args.images * 4, image_size=args.size, **kw)
    return dms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=384, help="images timed per setting")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, os.cpu_count() or 1])
    ap.add_argument("--target", type=float, default=2500.0, help="images/s a GPU step needs")
    ap.add_argument("--ref-decode", type=float, default=1150.0,
                    help="PIL 256 px JPEG decodes/s on one core of the GPU machine")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    workers = sorted(set(args.workers))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        dms = datamodules(tmp, args)
        files = sorted((tmp / "jpegs").glob("*.jpg"))[: args.images]
        base = pil_baseline(files)
        rows = []
        for name, dm in dms.items():
            dm.setup("fit")
            rates = [throughput(dm, w, args.images) for w in workers]
            rows.append((name, rates))
            print(f"  measured {name}", file=sys.stderr, flush=True)
        base = (base + pil_baseline(files)) / 2  # before and after: the machine may be shared
    head = " | ".join(f"{w} workers" if w else "in-process" for w in workers)
    print(f"\n| dataset | {head} |\n|---|{'---|' * len(workers)}")
    print(f"| baseline: PIL decode {args.size} px JPEG, 1 core | {base:,.0f} |"
          + " |" * (len(workers) - 1))
    for name, rates in rows:
        print(f"| {name} | " + " | ".join(f"{r:,.0f}" for r in rates) + " |")
    one = dict(zip(workers, rows[0][1])).get(1) or rows[0][1][0]
    scaled = args.ref_decode * one / base  # per-worker rate on a core decoding ref_decode/s
    print(f"\nmachine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}")
    print(f"{rows[0][0]}: one worker delivers {one:,.0f} images/s = {one / base:.0%} of the "
          f"bare PIL decode rate -> {args.target / one:.1f} worker cores here for "
          f"{args.target:,.0f} images/s; on cores that decode {args.ref_decode:,.0f} images/s: "
          f"{scaled:,.0f} images/s per worker, {args.target / scaled:.1f} worker cores.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
