"""Start-up cost of inference: ``colorgan colorize --help``, ``import colorgan.colorize.colorizer``
and loading a checkpoint + colorizing a 64 px image, each in a fresh interpreter (best of 3),
for this tree and for a baseline commit (``git archive BASE``, run with PYTHONPATH on it).

    python benchmarks/startup.py --ckpt PATH [--base f4beafc]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "colorize --help": "import sys\nfrom colorgan.cli import main\nsys.argv=['colorgan',"
                       "'colorize','--help']\ntry:\n    main()\nexcept SystemExit:\n    pass",
    "import colorizer": "import colorgan.colorize.colorizer",
    "load + colorize 64 px": "import torch\nfrom colorgan.colorize.colorizer import Colorizer\n"
                             "c = Colorizer.from_checkpoint({ckpt!r}, device='cpu')\n"
                             "c.colorize(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))",
}


def best_of(code: str, tree: Path, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=tree, check=True, capture_output=True,
                       env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", required=True, help="a colorgan checkpoint (e.g. a tiny unet_32)")
    ap.add_argument("--base", default="f4beafc", help="baseline commit")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        Path(tmp, "base.tar").write_bytes(archive)
        with tarfile.open(Path(tmp, "base.tar")) as tar:
            tar.extractall(Path(tmp, "base"), filter="data")
        print(f"| case | {args.base} (s) | this tree (s) |\n|---|---|---|")
        for name, code in CASES.items():
            code = code.format(ckpt=str(Path(args.ckpt).resolve()))
            print(f"| {name} | {best_of(code, Path(tmp, 'base')):.2f} | "
                  f"{best_of(code, ROOT):.2f} |", flush=True)


if __name__ == "__main__":
    main()
