"""``colorgan serve --ckpt CKPT``: the web page for colorizing photos and films.

    colorgan serve --ckpt last.ckpt                 # http://127.0.0.1:7860, this machine only
    colorgan serve --ckpt last.ckpt --host 0.0.0.0 --port 8000 --max-upload-mb 200
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from colorgan.app.uploads import Limits


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="colorgan serve",
                                description="A web page that colorizes uploaded photos and films.")
    p.add_argument("--ckpt", required=True, help="a .ckpt saved by `colorgan train`")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; the default serves this machine only, 0.0.0.0 "
                        "serves the network (anyone who can reach it can upload)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1 ...")
    p.add_argument("--max-upload-mb", type=float, default=Limits.max_upload_mb)
    p.add_argument("--max-film-seconds", type=float, default=Limits.max_film_seconds)
    p.add_argument("--max-pixels", type=int, default=Limits.max_pixels,
                   help="largest photo / film frame, in pixels")
    p.add_argument("--upload-timeout", type=float, default=Limits.upload_timeout,
                   help="seconds an upload may stall (no data) before it is answered 408 and "
                        "dropped")
    p.add_argument("--max-upload-seconds", type=float, default=Limits.max_upload_seconds,
                   help="seconds the whole body of one upload may take")
    p.add_argument("--workers", type=int, default=2, help="uploads colorized at the same time")
    p.add_argument("--workdir", default=None,
                   help="where the temporary upload folder is made (default: the system's temp)")
    return p


def _check(a: argparse.Namespace) -> None:
    for opt in ("max_upload_mb", "max_film_seconds", "max_pixels", "workers", "upload_timeout",
                "max_upload_seconds"):
        if not getattr(a, opt) > 0:  # NaN too
            raise ValueError(f"--{opt.replace('_', '-')} {getattr(a, opt)}: must be positive.")
    if not 0 < a.port < 65536:
        raise ValueError(f"--port {a.port}: must be in 1..65535.")


def serve_main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    try:
        import uvicorn

        from colorgan.app.protocol import uvicorn_config
        from colorgan.app.server import create_app
    except ImportError as e:
        print(f"error: colorgan serve needs the app extra ({e.name} is missing): "
              "pip install -e '.[app]'  (make install does it).", file=sys.stderr)
        return 1
    from colorgan.colorize.colorizer import CheckpointError, Colorizer

    try:
        _check(a)
        colorizer = Colorizer.from_checkpoint(a.ckpt, a.device)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        public = not ipaddress.ip_address(a.host).is_loopback
    except ValueError:  # a host name
        public = a.host != "localhost"
    if public:
        print(f"warning: --host {a.host} serves the page to the network: anyone who can reach "
              "this machine can upload files.", file=sys.stderr)
    limits = Limits(a.max_upload_mb, a.max_film_seconds, a.max_pixels, a.upload_timeout,
                    a.max_upload_seconds)
    app = create_app(colorizer, limits, a.workdir, a.workers)
    log = logging.getLogger("colorgan.app")  # one line per event, the way uvicorn prints its own
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    print(f"colorgan serve: open http://{'localhost' if not public else a.host}:{a.port} "
          "(Ctrl+C stops it)", flush=True)
    server = uvicorn.Server(uvicorn_config(app, a.host, a.port))
    server.run()
    return 0 if server.started else 1  # uvicorn said why (the port is taken, ...)


__all__ = ["parser", "serve_main"]
