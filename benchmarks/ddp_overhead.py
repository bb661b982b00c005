"""Time per training batch of DDP for GANs: colorgan's ``gan_ddp`` (netG and netD in separate
DDP wrappers) against Lightning's ``ddp_find_unused_parameters_true`` (one wrapper, an
unused-parameter search at every backward), and one process without DDP as the reference.

    python benchmarks/ddp_overhead.py                  # 2 CPU processes (gloo), 64 px, batch 16
    python benchmarks/ddp_overhead.py --accelerator gpu --backend nccl --devices 2 --size 256

The runs alternate (``--repeats`` rounds) so that load from other users of the machine hits
each setting alike; the table shows the median ms per batch (D + G step) after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

ROOT = Path(__file__).resolve().parents[1]


class StepTimer(pl.Callback):
    """Writes the mean seconds per training batch after ``warmup`` batches (rank 0 only)."""

    def __init__(self, out: str, warmup: int = 3) -> None:
        self.out, self.warmup, self.t0, self.n = Path(out), warmup, None, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.fit_loop.total_batch_idx == self.warmup:
            self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.t0 is not None:
            self.n += 1

    def on_train_end(self, trainer, pl_module) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        if trainer.is_global_zero and self.n:
            self.out.write_text(json.dumps({"s_per_batch": (time.perf_counter() - self.t0) / self.n}))


SETTINGS = {  # name -> trainer overrides
    "gan_ddp (separate wrappers)": ["trainer=ddp_sim"],
    "ddp_find_unused_parameters_true": ["trainer=ddp_sim", "~trainer.strategy",
                                        "+trainer.strategy=ddp_find_unused_parameters_true"],
    "1 process, no DDP": ["trainer=cpu"],
}


def run(name: str, extra: list[str], args, tmp: Path, i: int) -> float:
    out = tmp / f"{i}.json"
    batches = args.warmup + args.batches
    devices = [] if "no DDP" in name else [f"trainer.devices={args.devices}"]
    cmd = [sys.executable, str(ROOT / "train.py"), *extra, *devices,
           f"trainer.accelerator={args.accelerator}", f"data.image_size={args.size}",
           f"data.batch_size={args.batch_size}", f"data.num_train={batches * args.batch_size * 2}",
           "data.num_val=4", f"+trainer.limit_train_batches={batches}", "trainer.max_epochs=1",
           "+trainer.limit_val_batches=0", "+trainer.num_sanity_val_steps=0",
           "validate_after_fit=false", "trainer.enable_progress_bar=false",
           "callbacks.model_checkpoint=null", "callbacks.sample_grid=null",
           "callbacks.model_summary=null", "logger=[]",
           "+callbacks.timer._target_=benchmarks.ddp_overhead.StepTimer",
           f"+callbacks.timer.out={out}", f"+callbacks.timer.warmup={args.warmup}",
           f"paths.log_dir={tmp / 'logs'}", f"hydra.run.dir={tmp / f'run{i}'}"]
    if args.backend and "gan_ddp" in name:  # Lightning's named strategies pick their own
        cmd.append(f"trainer.strategy.process_group_backend={args.backend}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode or not out.is_file():
        raise SystemExit(f"{name} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return json.loads(out.read_text())["s_per_batch"] * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accelerator", default="cpu")
    ap.add_argument("--backend", default=None, help="process group backend (default: gloo on CPU)")
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batches", type=int, default=20, help="timed batches per run")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    times: dict[str, list[float]] = {k: [] for k in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for i, (name, extra) in enumerate(SETTINGS.items()):
                times[name].append(run(name, extra, args, Path(tmp), r * 10 + i))
                print(f"round {r + 1}: {name}: {times[name][-1]:.1f} ms/batch", flush=True)
    ref = statistics.median(times["gan_ddp (separate wrappers)"])
    print(f"\n{args.devices} processes, {args.accelerator}, {args.size} px, batch {args.batch_size} "
          f"per process, median of {args.repeats} runs of {args.batches} batches\n")
    print("| setting | ms per batch (D + G step) | vs gan_ddp |\n|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.1f} | {med / ref:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
