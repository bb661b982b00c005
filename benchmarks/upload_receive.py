"""What the web server's per-piece upload deadlines cost: ``save_stream`` against a plain loop.

    python benchmarks/upload_receive.py                  # 40 MB in 64 KB pieces, 7 repeats
    python benchmarks/upload_receive.py --mb 200 --piece-kb 16

Both read the same in-memory async stream of pieces (as uvicorn hands a body to Starlette) and
write it to a file in a temporary folder. ``plain`` is the loop ``colorgan serve`` used before
round three (``async for piece in stream: f.write(piece)``); ``save_stream`` adds the size cap,
an ``asyncio.timeout`` per piece (--upload-timeout), the total bound and the arrival slot.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorgan.app.receive import Arrivals, save_stream  # noqa: E402
from colorgan.app.uploads import Limits  # noqa: E402


async def pieces(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]
        await asyncio.sleep(0)  # a real body arrives across event-loop turns


async def plain(stream, target: Path) -> None:
    with open(target, "wb") as f:
        async for piece in stream:
            f.write(piece)


async def guarded(stream, target: Path, limits: Limits) -> None:
    arrivals = Arrivals()
    arrival = arrivals.enter("bench.bin", "127.0.0.1")
    try:
        await save_stream(stream, target, arrival, limits, None)
    finally:
        arrivals.leave(arrival)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=40.0)
    ap.add_argument("--piece-kb", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    data = bytes(int(a.mb * 1024 * 1024))
    limits = Limits(max_upload_mb=a.mb + 1)
    times: dict[str, list[float]] = {"plain (before)": [], "save_stream (now)": []}
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "upload"
        for _ in range(a.repeats):  # alternate, so that machine noise hits both rows alike
            for row, run in (("plain (before)", lambda s: plain(s, target)),
                             ("save_stream (now)", lambda s: guarded(s, target, limits))):
                t0 = time.perf_counter()
                asyncio.run(run(pieces(data, a.piece_kb * 1024)))
                times[row].append(time.perf_counter() - t0)
    n = len(data) // (a.piece_kb * 1024)
    base = statistics.median(times["plain (before)"])
    print(f"{a.mb:g} MB in {n} pieces of {a.piece_kb} KB, median of {a.repeats}\n")
    print("| reader | median (s) | best (s) | MB/s | us per piece | vs plain |")
    print("|---|---|---|---|---|---|")
    for row, ts in times.items():
        med = statistics.median(ts)
        print(f"| {row} | {med:.3f} | {min(ts):.3f} | {a.mb / med:.0f} | {med / n * 1e6:.1f} "
              f"| {med / base:.2f}x |")


if __name__ == "__main__":
    main()
