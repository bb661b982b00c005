"""Training images per second in one process: (a) the classic pix2pix step (fp32, eager, plain
Adam), (b) colorgan's ``ColorizationGAN`` step with the device's fast settings, (c) colorgan end
to end through ``Trainer.fit`` from JPEG files on disk, and (d) generator inference.

    python benchmarks/train_throughput.py --device cpu        # 64 px: unet_64 + small PatchGAN
    python benchmarks/train_throughput.py --device cuda       # 256 px: unet_256 + basic (70x70)
    python benchmarks/train_throughput.py --device cpu --precision bf16-mixed   # CPUs with bf16
    python benchmarks/train_throughput.py --device cpu --timm-encoder resnet34 --timm-only

Same networks (built from conf/model), same losses (BCE-with-logits GAN + L1 x 100) in (a)
and (b). (a) is ``Pix2PixModel.optimize_parameters`` of the original pix2pix code (Isola et
al. 2017, arXiv:1611.07004) on Lab tensors already on the device. (b) feeds RGB batches
already on the device through ``Trainer.fit`` (colour conversion on the device included).
(c) writes JPEGs into a temp dir and trains from them with ``data=folder`` (decode, workers,
transfer, augmentation included). Fast settings: CPU fp32, eager (the defaults); CUDA
bf16-mixed, channels_last, torch.compile, fused Adam, cudnn.benchmark (the defaults of
``trainer=gpu``). Prints a markdown table with the ratios and the peak memory.

``--timm-encoder NAME`` adds (e): the same step as (b) with ``model/netG=unet_timm`` (that timm
encoder's U-Net, same netD and losses), encoder trainable and frozen (``model.encoder.
freeze_epochs``), against (b) in the same rounds; ``--timm-only`` runs (b) and (e) alone.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.data_throughput import make_jpegs
from colorgan.data.folder import FolderDataModule
from colorgan.utils.config import CONFIG_DIR


def model_cfg(device: str):
    """The benchmarked design: 64 px unet64_gan on CPU, 256 px pix2pix (unet_gan) on CUDA."""
    name, size = ("unet64_gan", 64) if device == "cpu" else ("unet_gan", 256)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train.yaml", overrides=[f"model={name}", "model.rec_loss=l1",
                                               "model.lambda_rec=100", "model.gan_mode=vanilla"])
    return cfg.model, size


class Timer(pl.Callback):
    """Images/s over ``steps`` training batches after ``warmup`` batches; then stops fit."""

    def __init__(self, warmup: int, steps: int, batch: int) -> None:
        self.warmup, self.steps, self.batch, self.ips = warmup, steps, batch, float("nan")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.fit_loop.total_batch_idx == self.warmup:
            sync(pl_module.device)
            self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.fit_loop.total_batch_idx == self.warmup + self.steps - 1:
            sync(pl_module.device)
            self.ips = self.steps * self.batch / (time.perf_counter() - self.t0)
            trainer.should_stop = True


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_mib(device: str) -> float:
    """CUDA: peak allocated since the last reset; CPU: the process's peak RSS so far."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def classic_step(mcfg, size: int, batch: int, device: str, warmup: int, steps: int) -> float:
    """(a) pix2pix ``optimize_parameters``: fp32, eager, plain Adam(2e-4, (0.5, 0.999))."""
    gan = instantiate(mcfg, _recursive_=False, compile=False, channels_last=False)
    netG, netD = gan.netG.to(device).train(), gan.netD.to(device).train()
    opt_G = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = torch.nn.BCEWithLogitsLoss(), torch.nn.L1Loss()
    real_A = torch.rand(batch, 1, size, size, device=device) * 2 - 1  # L
    real_B = torch.rand(batch, 2, size, size, device=device) * 2 - 1  # ab

    def step() -> None:
        fake_B = netG(real_A)
        for p in netD.parameters():
            p.requires_grad_(True)
        opt_D.zero_grad()
        pred_fake = netD(torch.cat((real_A, fake_B), 1).detach())
        pred_real = netD(torch.cat((real_A, real_B), 1))
        loss_D = 0.5 * (bce(pred_fake, torch.zeros_like(pred_fake))
                        + bce(pred_real, torch.ones_like(pred_real)))
        loss_D.backward()
        opt_D.step()
        for p in netD.parameters():
            p.requires_grad_(False)
        opt_G.zero_grad()
        pred_fake = netD(torch.cat((real_A, fake_B), 1))
        loss_G = bce(pred_fake, torch.ones_like(pred_fake)) + l1(fake_B, real_B) * 100.0
        loss_G.backward()
        opt_G.step()

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * batch / (time.perf_counter() - t0)


def trainer(device: str, timer: Timer, max_batches: int, precision: str | None = None) -> pl.Trainer:
    """(b), (c): ``precision`` None = the device's default (bf16-mixed on CUDA, 32-true on CPU)."""
    precision = precision or ("bf16-mixed" if device == "cuda" else "32-true")
    return pl.Trainer(accelerator="gpu" if device == "cuda" else "cpu", devices=1,
                      precision=precision,
                      benchmark=device == "cuda", max_steps=2 * max_batches, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
                      log_every_n_steps=50, callbacks=[timer])


class Repeat:
    """The same device batch ``n`` times (an iterable Lightning takes as a train loader)."""

    def __init__(self, batch: dict, n: int) -> None:
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return (self.batch for _ in range(self.n))


def colorgan_step(mcfg, size: int, batch: int, device: str, warmup: int, steps: int,
                  precision: str | None = None) -> float:
    """(b) ``ColorizationGAN`` through ``Trainer.fit`` on RGB batches already on the device."""
    gan = instantiate(mcfg, _recursive_=False)
    rgb = torch.rand(batch, 3, size, size, device=device)
    timer = Timer(warmup, steps, batch)
    trainer(device, timer, warmup + steps, precision).fit(
        gan, train_dataloaders=Repeat({"rgb": rgb}, warmup + steps))
    return timer.ips


def timm_cfg(mcfg, encoder: str, frozen: bool):
    """``mcfg`` with netG = the U-Net of timm ``encoder`` (random weights: no download)."""
    cfg = mcfg.copy()
    cfg.netG = {"_target_": "colorgan.models.timm_unet.TimmUNet", "encoder": encoder,
                "pretrained": False}
    cfg.encoder = {"freeze_epochs": 10 ** 6 if frozen else 0, "lr_mult": 0.1}
    return cfg


def params_m(mcfg) -> float:
    return sum(p.numel() for p in instantiate(mcfg, _recursive_=False).netG.parameters()) / 1e6


def timm_rows(mcfg, encoder: str, size: int, batches: list[int], device: str, warmup: int,
              steps: int, rounds: int, precision: str | None) -> list[str]:
    """(e): colorgan's step with the timm encoder's U-Net, trainable and frozen, against (b)."""
    cfgs = {"b": mcfg, "e": timm_cfg(mcfg, encoder, False), "e frozen": timm_cfg(mcfg, encoder, True)}
    rows = [f"| batch | (b) {mcfg.netG._target_.rsplit('.', 1)[-1]} img/s | (e) unet_timm({encoder}) "
            "img/s | e/b | (e) encoder frozen img/s | frozen/b |", "|---|---|---|---|---|---|"]
    for batch in batches:
        best = dict.fromkeys(cfgs, 0.0)
        for _ in range(rounds):  # alternate, keep the best: fair under varying load
            for key, cfg in cfgs.items():
                best[key] = max(best[key], colorgan_step(cfg, size, batch, device, warmup, steps,
                                                         precision))
        b, e, f = best["b"], best["e"], best["e frozen"]
        rows.append(f"| {batch} | {b:,.2f} | {e:,.2f} | {e / b:.2f}x | {f:,.2f} | {f / b:.2f}x |")
        print(rows[-1], flush=True)
    rows.append(f"\nnetG parameters: (b) {params_m(mcfg):.1f} M, (e) {params_m(cfgs['e']):.1f} M")
    return rows


def colorgan_fit(mcfg, size: int, batch: int, device: str, warmup: int, steps: int,
                 images: int, tmp: Path, precision: str | None = None) -> float:
    """(c) ``Trainer.fit`` from JPEGs on disk (``data=folder``, default workers)."""
    root = tmp / f"jpeg_{size}"
    if not root.exists():
        make_jpegs(root, images, size)
    dm = FolderDataModule(root=str(root), image_size=size, batch_size=batch, num_workers=None,
                          pin_memory=None, val_fraction=0.05, cache_dir=str(tmp / "cache"))
    gan = instantiate(mcfg, _recursive_=False)
    timer = Timer(warmup, steps, batch)
    trainer(device, timer, warmup + steps, precision).fit(gan, datamodule=dm)
    return timer.ips


@torch.no_grad()
def inference(mcfg, size: int, batch: int, device: str, fast: bool, steps: int) -> float:
    """(d) netG forward: fp32 eager, or (fast, CUDA) bf16 + channels_last + compile."""
    netG = instantiate(mcfg, _recursive_=False, compile=False).netG.to(device).eval()
    x = torch.rand(batch, 1, size, size, device=device)
    use_fast = fast and device == "cuda"
    if use_fast:
        netG, x = netG.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
        netG.compile()
    ctx = torch.autocast("cuda", dtype=torch.bfloat16) if use_fast else torch.autocast(device, enabled=False)
    with ctx:
        for _ in range(3):
            netG(x)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            netG(x)
        sync(device)
    return steps * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available()
                    else "cpu")
    ap.add_argument("--batches", type=int, nargs="+", default=None,
                    help="batch sizes (default: 1 64 on CPU, 1 64 128 on CUDA)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps (compile, cudnn)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per measurement")
    ap.add_argument("--images", type=int, default=None, help="JPEGs written for (c)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating (a)/(b) rounds, best kept")
    ap.add_argument("--timm-encoder", default=None, help="also (e): the unet_timm step with this "
                    "timm encoder (e.g. resnet34), trainable and frozen, against (b)")
    ap.add_argument("--timm-only", action="store_true", help="with --timm-encoder: (b) and (e) only")
    ap.add_argument("--precision", default=None, choices=["32-true", "bf16-mixed", "16-mixed"],
                    help="Lightning precision of (b) and (c) (default: bf16-mixed on CUDA, 32-true "
                    "on CPU); (a) stays the fp32 baseline")
    args = ap.parse_args(argv)
    cpu = args.device == "cpu"
    batches = args.batches or ([1, 64] if cpu else [1, 64, 128])
    warmup = args.warmup if args.warmup is not None else (2 if cpu else 15)
    steps = args.steps or (6 if cpu else 50)
    mcfg, size = model_cfg(args.device)
    images = args.images or max(512, max(batches) * (warmup + steps))
    torch.manual_seed(0)
    name = f"{mcfg.netG._target_.rsplit('.', 1)[-1]} + {mcfg.netD._target_.rsplit('.', 1)[-1]}"
    precision = args.precision or ("bf16-mixed" if not cpu else "32-true")
    print(f"# train throughput: {args.device}, {size} px, {name}, (b)/(c) {precision}, "
          f"threads {torch.get_num_threads()}, "
          f"cores {os.cpu_count()}, warmup {warmup}, timed {steps} steps, best of {args.rounds} "
          "alternating rounds for (a) and (b)\n")
    if args.timm_encoder:
        print(f"# (e) unet_timm({args.timm_encoder}) against (b), same rounds\n")
        rows = timm_rows(mcfg, args.timm_encoder, size, batches, args.device, warmup, steps,
                         args.rounds, precision)
        print("\n" + "\n".join(rows) + "\n", flush=True)
        if args.timm_only:
            return 0
    rows = ["| batch | (a) classic img/s | (b) colorgan step img/s | b/a | (c) fit from JPEG img/s "
            "| c/b | peak MiB (a / b / c) |", "|---|---|---|---|---|---|---|"]
    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for batch in batches:
            a = b = 0.0
            for _ in range(args.rounds):  # alternate, keep the best: fair under varying load
                reset_peak(args.device)
                a = max(a, classic_step(mcfg, size, batch, args.device, warmup, steps))
                peak_a = peak_mib(args.device)
                reset_peak(args.device)
                b = max(b, colorgan_step(mcfg, size, batch, args.device, warmup, steps, precision))
                peaks = [peak_a, peak_mib(args.device)]
            c = float("nan")
            if batch == max(batches):  # end to end at the training batch size
                reset_peak(args.device)
                c = colorgan_fit(mcfg, size, batch, args.device, warmup, steps, images, Path(tmp),
                                 precision)
                peaks.append(peak_mib(args.device))
            results[batch] = (a, b, c)
            rows.append(f"| {batch} | {a:,.1f} | {b:,.1f} | {b / a:.2f}x | {c:,.1f} | {c / b:.2f}x | "
                        + " / ".join(f"{p:,.0f}" for p in peaks) + " |")
            print(rows[-1], flush=True)
        big = max(batches)
        inf_eager = inference(mcfg, size, big, args.device, False, steps)
        inf_fast = inference(mcfg, size, big, args.device, True, steps)
    print("\n" + "\n".join(rows))
    print(f"\n(d) generator inference, batch {big}: fp32 eager {inf_eager:,.1f} img/s; "
          f"fast path {inf_fast:,.1f} img/s" + (" (same as eager on CPU)" if cpu else ""))
    big_fit, small = results[big][2], min(batches)
    print(f"end to end (c) at batch {big} vs the classic step at batch {small}: "
          f"{big_fit / results[small][0]:.1f}x (goal on one H100/H200 at 256 px: >= 2,500 img/s, "
          ">= 26x; inference >= 20,000 img/s)")
    print("peak MiB: CUDA max allocated per measurement; CPU: the process's peak RSS so far")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
