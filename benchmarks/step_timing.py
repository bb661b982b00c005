"""Shared by the generator-step benchmarks (classification_step.py, perceptual_step.py): their
command line, the generator they time, and the timed table against the first row."""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.utils.config import CONFIG_DIR


def step_args(doc: str) -> argparse.Namespace:
    """--netG, --size, --batch, --steps, --threads; sets the threads and the seed."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--netG", default="unet_64")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a


def netG_config(name: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{name}.yaml"))


def time_steps(a: argparse.Namespace, rows: list[tuple[str, Callable[[], None]]]) -> None:
    """Time each step (after one warm-up) and print ms and the ratio to the first row."""
    timed = []
    for name, step in rows:
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        timed.append((name, (time.perf_counter() - t0) / a.steps * 1000))
    base = timed[0][1]
    print(f"{a.netG}, batch {a.batch}, {a.size} px, {a.threads} thread(s), {a.steps} steps\n")
    print("| generator step | ms | x baseline |\n|---|---|---|")
    for name, ms in timed:
        print(f"| {name} | {ms:.0f} | {ms / base:.2f} |")
