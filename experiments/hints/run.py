"""The evaluations of experiments/hints in one process (torch, Lightning and the photo list are
loaded once): for each row, the ``python eval.py ...`` command it equals is written to
``OUT/commands.txt`` and its ``metrics.json`` to ``OUT/<row>/p<N>/``. Then the tables.

    python experiments/hints/run.py --best BEST.ckpt --hints HINTS.ckpt \
        --root ../shared/data/images/scenes --out logs/hints/<run> \
        --plot docs/images/hints_psnr_points.png
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.core.global_hydra import GlobalHydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import open_dict  # noqa: E402

from colorgan.eval import evaluate  # noqa: E402
from colorgan.utils.config import CONFIG_DIR  # noqa: E402

HERE = Path(__file__).resolve().parent


def eval_in_process(overrides: list[str], out: Path) -> dict:
    """``python eval.py OVERRIDES hydra.run.dir=OUT``, without a new interpreter."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="eval.yaml", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = cfg.hydra.runtime.output_dir = str(out)
        cfg.paths.work_dir = cfg.hydra.runtime.cwd = str(Path.cwd())
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    payload, _ = evaluate(cfg)
    return payload


def jobs(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(row folder, eval overrides) for every evaluation of the tables."""
    data = ["data=folder", f"data.root={args.root}", f"data.image_size={args.image_size}",
            f"data.val_fraction={args.val_fraction}", f"data.test_fraction={args.test_fraction}",
            "data.num_workers=0",
            f"hints.seed={args.seed}", "trainer.enable_progress_bar=false"]

    def best(n: int) -> tuple[str, list[str]]:
        return f"best/p{n}", [f"ckpt_path={args.best}", *data, f"hints.points={n}",
                              "hints.baselines=false"]

    def hint(n: int, ref: str = "none") -> tuple[str, list[str]]:  # the classic fills: here
        return (f"hints/p{n}" if ref == "none" else f"hints_{ref}/p{n}",
                [f"ckpt_path={args.hints}", *data, f"hints.points={n}",
                 f"hints.reference={ref}", f"hints.baselines={str(ref == 'none').lower()}"])

    def raw(n: int) -> tuple[str, list[str]]:  # the hint model without the mix
        return f"hints_raw/p{n}", [f"ckpt_path={args.hints}", *data, f"hints.points={n}",
                                   "hints.mix=0", "hints.baselines=false"]

    out = [hint(n) for n in args.points] + [best(n) for n in args.best_points]
    out += [raw(n) for n in args.points if n > 0]  # at 0 points the mix does nothing
    out += [hint(n, ref) for n in args.ref_points for ref in ("self", "class")]
    # the headline numbers first, so that a run cut short still answers the goals
    first = ["hints/p0", "best/p0", "hints/p10", "hints_self/p0"]
    return sorted(out, key=lambda job: first.index(job[0]) if job[0] in first else len(first))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--best", required=True, help="the experiment=scenes64_best checkpoint")
    p.add_argument("--hints", required=True, help="the experiment=scenes64_hints checkpoint")
    p.add_argument("--root", default="../shared/data/images/scenes")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--points", type=int, nargs="+", default=[0, 1, 2, 5, 10, 20, 50])
    p.add_argument("--ref-points", type=int, nargs="*", default=[0, 10])
    p.add_argument("--best-points", type=int, nargs="*", default=[0, 10],
                   help="the automatic model ignores the points: 0 and 10 show it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--val-fraction", type=float, default=0.2, help="the checkpoints' split")
    p.add_argument("--test-fraction", type=float, default=0.1, help="the checkpoints' split")
    p.add_argument("--plot", type=Path)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    commands = args.out / "commands.txt"
    for name, overrides in jobs(args):
        target = args.out / name
        if (target / "metrics.json").is_file():  # a rerun continues where it stopped
            continue
        line = shlex.join(["python", "eval.py", *overrides, f"hydra.run.dir={target}"])
        with commands.open("a") as f:
            f.write(line + "\n")
        start = time.perf_counter()
        eval_in_process(overrides, target)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    sys.path.insert(0, str(HERE))
    import table

    return table.main([str(args.out), *(["--plot", str(args.plot)] if args.plot else [])])


if __name__ == "__main__":
    sys.exit(main())
