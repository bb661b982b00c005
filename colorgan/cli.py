"""``colorgan`` command: one entry point, one subcommand per tool (:data:`COMMANDS`); ``colorgan
eval`` also takes ``--images DIR`` (a folder, data=folder), ``--hints N`` and ``--full-res``.
"""
from __future__ import annotations

import importlib
import sys

# name -> (module, function, one-line help); modules are imported only when used
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("colorgan.train", "main", "train a model (Hydra overrides, as python train.py)"),
    "eval": ("colorgan.eval", "main", "evaluate a checkpoint: ckpt_path=... data=..."),
    "report": ("colorgan.report", "main", "aggregate a sweep folder into one table"),
    "colorize": ("colorgan.colorize.cli", "colorize_main", "colorize an image, folder or video"),
    "scenes": ("colorgan.colorize.cli", "scenes_main", "print the scene cuts of a video"),
    "eval-video": ("colorgan.colorize.cli", "eval_video_main", "metrics of a colorized video"),
    "serve": ("colorgan.app.cli", "serve_main", "web page for photos and films (extra: app)"),
    "export": ("colorgan.colorize.export", "export_main", "a checkpoint as ONNX (extra: export)"),
    "info": ("colorgan.info", "info_main", "a checkpoint's architecture and model card"),
}
HYDRA_COMMANDS = {"train", "eval"}  # these read sys.argv themselves


def usage() -> str:
    lines = ["usage: colorgan COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


def images_option(args: list[str]) -> list[str]:
    """``--images DIR`` -> ``data=folder data.root=DIR``; ``--hints N`` -> ``hints.points=N``."""
    out, it = [], iter(args)
    for arg in it:
        opt, eq, value = arg.partition("=")
        if opt not in ("--images", "--hints"):
            out.append(arg)
            continue
        value = value if eq else next(it, None)
        if opt == "--images" and not value:
            raise SystemExit("colorgan eval: --images needs a folder, e.g. --images my_photos/")
        if opt == "--hints" and not (value or "").isdigit():
            raise SystemExit(f"colorgan eval: --hints needs a number of points >= 0, e.g. "
                             f"--hints 10 (got {value!r}).")
        out += ["data=folder", f"data.root={value}"] if opt == "--images" else \
            [f"hints.points={int(value)}"]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"colorgan: unknown command {name!r}.\n\n{usage()}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    if name == "eval" and "--full-res" in rest:  # argparse, not Hydra: colorize's options
        from colorgan.eval_full_res import main as full_res_main
        return int(full_res_main(rest) or 0)
    fn = getattr(importlib.import_module(module), func)
    if name == "eval":
        rest = images_option(rest)
    if name in HYDRA_COMMANDS:
        sys.argv = [f"colorgan {name}", *rest]
        fn()
        return 0
    return int(fn(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
