"""Generator inference images/s: PyTorch eager (the baseline), torch.compile and onnxruntime,
on the same inputs, for ``unet_64`` at 512 px (a 512 x 512 generator input), plus the whole
photo path (``Colorizer.colorize`` of a 512 x 512 photo) with either backend.

    python benchmarks/onnx_inference.py                       # CPU, batch 1, 3 rounds
    python benchmarks/onnx_inference.py --device cuda         # a GPU (onnxruntime-gpu for ORT)

The weights are random (speed does not depend on them): a checkpoint with them is written to a
temp folder and exported by ``colorgan export`` (colorgan.colorize.export), so the ONNX row is
the file users get. Flip averaging is off in all rows (it doubles every row alike). Rows
alternate over ``--rounds`` rounds and the best of each is kept, so all see the same load;
onnxruntime gets as many threads as torch. Prints a markdown table with the ratio to eager.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from colorgan.colorize.colorizer import Colorizer  # noqa: E402
from colorgan.colorize.export import export_onnx  # noqa: E402
from colorgan.colorize.onnx_backend import load_onnx_colorizer  # noqa: E402
from colorgan.models.gan_module import build_generator  # noqa: E402


def write_checkpoint(path: Path, net: str, size: int) -> Path:
    cfg = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/model/netG" / f"{net}.yaml"))
    netG = build_generator(cfg, "lab", None)
    hp = {"netG": cfg, "color_space": "lab", "train_image_size": size, "tta_flip": False}
    torch.save({"hyper_parameters": hp,
                "state_dict": {f"netG.{k}": v for k, v in netG.state_dict().items()}}, path)
    return path


def images_per_s(fn, x: torch.Tensor, warmup: int, steps: int, device: torch.device) -> float:
    with torch.no_grad():
        for _ in range(warmup):
            fn(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return steps * x.shape[0] / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="unet_64")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    a = p.parse_args()
    dev = torch.device(a.device)
    tmp = Path(tempfile.mkdtemp(prefix="onnx_bench_"))
    ckpt = write_checkpoint(tmp / "g.ckpt", a.net, a.size)
    t0 = time.perf_counter()
    meta = export_onnx(ckpt, tmp / "g.onnx")
    export_s = time.perf_counter() - t0
    torch_c = Colorizer.from_checkpoint(ckpt, a.device, "fp32")
    threads = torch.get_num_threads()  # onnxruntime's default is the core count: align it
    onnx_c = load_onnx_colorizer(tmp / "g.onnx", a.device, threads=threads)
    x = torch.rand(a.batch, 1, a.size, a.size, device=dev) * 2 - 1  # (B, 1, s, s) generator input
    photo = torch.randint(0, 256, (a.batch, 3, a.size, a.size), dtype=torch.uint8)
    rows: dict[str, object] = {"PyTorch eager": torch_c.netG, "onnxruntime": onnx_c.netG}
    if not a.no_compile:
        try:
            compiled = torch.compile(torch_c.netG)
            t0 = time.perf_counter()
            with torch.no_grad():
                compiled(x)
            print(f"torch.compile: first call {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            rows["torch.compile"] = compiled
        except Exception as e:  # noqa: BLE001 - report any backend failure in the table
            rows["torch.compile"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
    rows["photo, torch backend"] = torch_c.colorize
    rows["photo, onnx backend"] = onnx_c.colorize
    best: dict[str, float] = {}
    for r in range(a.rounds):
        for name, fn in rows.items():
            if isinstance(fn, str):
                continue
            inp = photo if name.startswith("photo") else x
            ips = images_per_s(fn, inp, a.warmup if r == 0 else 1, a.steps, dev)
            best[name] = max(best.get(name, 0.0), ips)
    with torch.no_grad():
        diff = (onnx_c.netG(x) - torch_c.netG(x)).abs().max().item()
    print(f"\n{a.net} at {a.size} px, batch {a.batch}, {a.device}, {threads} torch threads, "
          f"torch {torch.__version__}, onnxruntime {_ort_version()}, opset {meta['opset']}; "
          f"export {export_s:.1f}s; onnxruntime vs eager max abs diff {diff:.1e}\n")
    print("| path | images/s | vs eager |\n|---|---|---|")
    base = best["PyTorch eager"]
    for name, fn in rows.items():
        if isinstance(fn, str):
            print(f"| {name} | {fn} | |")
            continue
        ref = best["photo, torch backend"] if name == "photo, onnx backend" else base
        print(f"| {name} | {best[name]:.2f} | {best[name] / ref:.2f}x"
              f"{' (vs photo, torch)' if name == 'photo, onnx backend' else ''} |")


def _ort_version() -> str:
    import onnxruntime as ort
    return ort.__version__


if __name__ == "__main__":
    main()
