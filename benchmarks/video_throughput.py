"""Frames per second of film colorization, against decode and transcode measured in the same run.

    python benchmarks/video_throughput.py                       # fire2.mp4 (720p) + test.webm (480p)
    python benchmarks/video_throughput.py --clip film.mp4 --netG unet_256 --size 256 --device cuda

Rows per clip, each in a fresh (spawned) process, so its peak memory is its own:
decode only (PyAV, frames as planes), transcode only (decode + encode with the same encoder
settings, no model: the ceiling of any colorizer), the colorgan pipeline (luma passthrough and
chroma keyframes, the default), the pipeline colouring every frame (``--keyframe-interval 1``),
the pipeline with ``--recombine lab``, the serial loop (same steps as the default pipeline,
one thread), and the generator alone on every frame (its own ceiling), all with the
pipeline's torch thread budget on a CPU; then the default pipeline after PySceneDetect's first
pass (``--scene-detector pyscenedetect-adaptive``), and with each shot's first frame as a
reference frame (``--reference-frames``: a first pass for the cuts, colour carried by
optical flow; also with ``--carry-flow fast``). ``--rows 2,7`` runs a subset (transcode
always). Frames/s, ratio to transcode-only and peak RSS. Goals: pipeline >= 0.8x
transcode-only; with reference frames >= 0.6x at 480p. The generator has random weights:
speed does not depend on them. Ready for ``--device cuda`` (and ``--netG unet_256 --size
256``, a 1080p ``--clip``) on a GPU machine.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.colorize.colorizer import Colorizer, pick_device
from colorgan.colorize.films import colorize_planes, colorize_video, cpu_threads
from colorgan.colorize.keyframes import auto_interval
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.models.gan_module import build_generator
from colorgan.utils.config import CONFIG_DIR
from colorgan.video.io import DECODE_THREADS, VideoWriter, open_video, probe, read_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIPS = [SHARED / "videos" / "fire2.mp4", SHARED / "videos" / "test.webm"]


def make_colorizer(netG: str, size: int, device: str | None) -> Colorizer:
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{netG}.yaml"))
    return Colorizer(build_generator(cfg, "lab", None), "lab", size, device=pick_device(device))


def decode_only(a, clip: Path, out: Path, c: Colorizer) -> int:
    with open_video(clip) as container:
        s = container.streams.video[0]
        s.thread_type = DECODE_THREADS
        return sum(1 for i, _ in zip(range(a.max_frames or 10**9), container.decode(s)))


def transcode_only(a, clip: Path, out: Path, c: Colorizer) -> int:
    info, n = probe(clip), 0
    w = VideoWriter(out, info, info.width, info.height, a.codec, a.crf, preset=a.preset)
    for f in read_frames(clip, a.max_frames, planes=True):
        w.write_yuv(*f.yuv, f.pts, f.duration)
        n += 1
    w.close()
    return n


def generator_only(a, clip: Path, out: Path, c: Colorizer) -> int:
    """The generator alone on inputs of the clip's net size, in batches: no I/O, no colour."""
    info = probe(clip)
    n = min(a.max_frames or info.frames or 100, info.frames or 100)
    x = torch.zeros(a.batch_size, 1, *c.net_size(info.height, info.width), device=c.device)
    with cpu_threads("auto", c.device):  # the pipeline's thread budget
        for i in range(0, n, a.batch_size):
            c.predict_ab(x[:min(a.batch_size, n - i)])
    if c.device.type == "cuda":
        torch.cuda.synchronize()
    return n


def pipeline(a, clip: Path, out: Path, c: Colorizer, recombine: str = "yuv",
             interval: int | str | None = None, scene_detector: str = "colorgan",
             reference_frames: Path | None = None, carry_flow: str = "medium") -> int:
    return colorize_video(clip, out, c, batch_size=a.batch_size, codec=a.codec, crf=a.crf,
                          preset=a.preset, overwrite=True, max_frames=a.max_frames,
                          progress=False, recombine=recombine,
                          keyframe_interval=interval or a.keyframe_interval,
                          scene_detector=scene_detector, reference_frames=reference_frames,
                          carry_flow=carry_flow).frames


def pipeline_references(a, clip: Path, out: Path, c: Colorizer) -> int:
    return pipeline(a, clip, out, c, reference_frames=a.references)


def pipeline_references_fast(a, clip: Path, out: Path, c: Colorizer) -> int:
    return pipeline(a, clip, out, c, reference_frames=a.references, carry_flow="fast")


def write_references(clip: Path, folder: Path, max_frames: int | None) -> Path:
    """The true colour of each shot's first frame as reference frames (000120.png = frame 120)."""
    from PIL import Image

    from colorgan.scenes import find_cuts
    starts = {0, *(i for i, _ in find_cuts(clip, max_frames=max_frames))}
    folder.mkdir()
    for f in read_frames(clip, max_frames):
        if f.index in starts:
            Image.fromarray(f.rgb).save(folder / f"{f.index:06d}.png")
    return folder


def pipeline_pyscenedetect(a, clip: Path, out: Path, c: Colorizer) -> int:
    return pipeline(a, clip, out, c, scene_detector="pyscenedetect-adaptive")


def pipeline_every(a, clip: Path, out: Path, c: Colorizer) -> int:
    return pipeline(a, clip, out, c, interval=1)


def pipeline_lab(a, clip: Path, out: Path, c: Colorizer) -> int:
    return pipeline(a, clip, out, c, recombine="lab")


def serial(a, clip: Path, out: Path, c: Colorizer) -> int:
    """The pipeline's steps in one thread: decode a batch, colorize it, encode it, repeat."""
    info, n = probe(clip), 0
    w = VideoWriter(out, info, info.width, info.height, a.codec, a.crf, preset=a.preset)
    k = auto_interval(a.keyframe_interval, c.device, "independent")
    with cpu_threads("auto", c.device):
        for frames, uv in colorize_planes(read_frames(clip, a.max_frames, planes=True),
                                          TemporalColorizer(c), info.tags, a.batch_size, k):
            for f, (u, v) in zip(frames, uv):
                w.write_yuv(f.yuv[0], u, v, f.pts, f.duration)
            n += len(frames)
    w.close()
    return n


ROWS = [("decode only", decode_only), ("transcode only (no model)", transcode_only),
        ("colorgan pipeline (yuv, keyframes, default)", pipeline),
        ("colorgan pipeline (yuv, --keyframe-interval 1)", pipeline_every),
        ("colorgan pipeline (--recombine lab)", pipeline_lab),
        ("serial loop (yuv, one thread)", serial),
        ("generator only (no I/O, no colour)", generator_only),
        ("colorgan pipeline + --scene-detector pyscenedetect-adaptive", pipeline_pyscenedetect),
        ("colorgan pipeline + --reference-frames (each shot's first frame)",
         pipeline_references),
        ("colorgan pipeline + --reference-frames --carry-flow fast", pipeline_references_fast)]


def _child(row: int, a, clip: Path, out: Path, q: mp.Queue) -> None:
    warnings.filterwarnings("ignore", message=".*cannot be stored.*")
    torch.set_grad_enabled(False)
    c = make_colorizer(a.netG, a.size, a.device)
    info = probe(clip)
    c.colorize(torch.zeros(1, 3, info.height, info.width, dtype=torch.uint8))  # warm-up
    t0 = time.perf_counter()
    n = ROWS[row][1](a, clip, out, c)
    seconds = time.perf_counter() - t0
    q.put((n, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def in_fresh_process(target, *args):
    """``target(*args, queue)`` in a spawned process (its peak RSS is its own); what it puts
    on the queue. Spawned, not forked: fork after torch/FFmpeg threads can deadlock."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    result = q.get()
    p.join()
    return result


def measure(row: int, a, clip: Path, out: Path) -> tuple[int, float, float]:
    return in_fresh_process(_child, row, a, clip, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, action="append", default=None,
                    help="video to measure (repeatable); default: fire2.mp4 and test.webm")
    ap.add_argument("--netG", default="unet_64", help="conf/model/netG preset")
    ap.add_argument("--size", type=int, default=64, help="the generator's training size")
    ap.add_argument("--device", default=None, help="cpu, cuda (default: the GPU if any)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--codec", default="libx264")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--preset", default=None)
    ap.add_argument("--keyframe-interval", default="auto",
                    help="pipeline and serial rows: generator on every k-th frame (auto)")
    ap.add_argument("--rows", default=None,
                    help="comma-separated row numbers to run (default: all); 1 = transcode")
    a = ap.parse_args()
    clips = a.clip or CLIPS
    for clip in clips:
        if not clip.is_file():
            sys.exit(f"{clip}: clip not found; pass --clip VIDEO.")
    c = make_colorizer(a.netG, a.size, a.device)
    torch.set_grad_enabled(False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    print(f"commit {commit}; {a.netG} at {a.size} px, device {c.device}, batch {a.batch_size}, "
          f"{a.codec} crf {a.crf} preset {a.preset or 'default'}, keyframe interval "
          f"{a.keyframe_interval}, torch threads "
          f"{torch.get_num_threads()}", flush=True)
    for clip in clips:
        info = probe(clip)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.mkv"
            keep = {int(r) for r in a.rows.split(",")} | {1} if a.rows else range(len(ROWS))
            a.references = write_references(clip, Path(tmp) / "refs", a.max_frames) \
                if {len(ROWS) - 2, len(ROWS) - 1} & set(keep) else None
            rows = [(name, *measure(i, a, clip, out)) for i, (name, _) in enumerate(ROWS)
                    if i in keep]
        base = next(n / s for name, n, s, _ in rows if name == ROWS[1][0])
        print(f"\n{clip.name}: {info.width}x{info.height}, net input "
              f"{'x'.join(map(str, c.net_size(info.height, info.width)))}\n")
        print("| method | frames | seconds | frames/s | x transcode-only | peak RSS (MiB) |\n"
              "|---|---|---|---|---|---|")
        for name, n, s, rss in rows:
            print(f"| {name} | {n} | {s:.2f} | {n / s:.1f} | {n / s / base:.2f} | {rss:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
