"""Helpers shared by the film/photo tests: tiny trained checkpoints and generated videos.

(No tests here; imported by test_video_*.py, test_colorize_*.py and test_inference.py.)
"""
from __future__ import annotations

import functools
import io
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import TINY, make_cfg

from colorgan.data.synthetic import render_scene

# colour classification + EMA generator + flip averaging (the recipe switches)
CLASSIFY = ("model.classification.enabled=true", "model.lambda_rec=0",
            "model.classification.prior_images=16", "model.classification.cache_dir=null",
            "model.ema.enabled=true", "model.ema.decay=0.5")


@functools.cache
def tiny_checkpoint(root: Path, dependent: bool = False, recipe: tuple[str, ...] = ()) -> Path:
    """Train a tiny 32 px U-Net (seconds) once per test session; return its last.ckpt."""
    from colorgan.train import train

    extra = ["model=unet_gan_dependent", "data.pairs=true", "model.temporal.prev_source=self"] \
        if dependent else []
    extra += list(recipe)
    out = root / ("dependent" if dependent else "recipe" if recipe else "independent")
    train(make_cfg(out, TINY + extra + ["callbacks.sample_grid=null"]))
    ckpt = json.loads((out / "run" / "metrics.json").read_text())["last_checkpoint"]
    assert ckpt and Path(ckpt).is_file()
    return Path(ckpt)


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.getbasetemp() / "ckpts")


@pytest.fixture(scope="session")
def ckpt_dependent(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.getbasetemp() / "ckpts", dependent=True)


@pytest.fixture(scope="session")
def ckpt_classify(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.getbasetemp() / "ckpts", recipe=CLASSIFY)


def scene_frames(n: int, seed: int, h: int = 48, w: int = 64, dark: bool = False) -> list:
    """``n`` frames of a slow pan over one synthetic scene, uint8 (H, W, 3)."""
    wide = render_scene(h, seed, width=w + n)  # (3, H, W + n)
    if dark:
        wide = wide * 0.25
    frames = (wide.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return [frames[:, i:i + w] for i in range(n)]


def make_video(path: Path, frames: list, rate: int = 25, pts: list[int] | None = None,
               time_base: Fraction | None = None, audio: bool = False, crf: int = 10,
               faststart: bool = False) -> Path:
    """Encode frames (H, W, 3) uint8 with PyAV; optional explicit pts (VFR) and an AAC track."""
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as out:
        v = out.add_stream("libx264", rate=rate)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = "yuv444p" if crf == 0 else "yuv420p"
        v.options = {"crf": str(crf)}
        tb = time_base or Fraction(1, rate)
        v.codec_context.time_base = tb
        a = None
        if audio:
            a = out.add_stream("aac", rate=48000)
            a.layout = "mono"
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts, f.time_base = (pts[i] if pts else i), tb
            out.mux(v.encode(f))
        out.mux(v.encode(None))
        if a is not None:
            seconds = float(len(frames) * tb if not pts else (pts[-1] + 1) * tb)
            t = np.arange(int(48000 * seconds)) / 48000.0
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for k in range(0, len(tone), 1024):
                chunk = tone[None, k:k + 1024]
                af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                af.sample_rate, af.pts = 48000, k
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    return path


def video_stats(path: Path) -> dict:
    """Frame times (exact fractions), size, rate, and audio packet count and duration."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [f.pts * f.time_base for f in c.decode(v)]
        size = (v.codec_context.width, v.codec_context.height)
        rate = v.average_rate
    with av.open(str(path)) as c:
        n_audio, dur = 0, Fraction(0)
        if c.streams.audio:
            for p in c.demux(c.streams.audio[0]):
                if p.dts is not None:
                    n_audio += 1
                    dur += p.duration * p.time_base
    return {"times": times, "frames": len(times), "size": size, "rate": rate,
            "audio_packets": n_audio, "audio_duration": dur}


def mp3_with_cover_art() -> bytes:
    """Audio only, plus an MJPEG picture marked ``attached_pic`` (an album cover), via PyAV."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        a = out.add_stream("libmp3lame", rate=8000)
        a.layout = "mono"
        v = out.add_stream("mjpeg", rate=1)
        v.width, v.height, v.pix_fmt = 32, 32, "yuvj420p"
        v.disposition = av.stream.Disposition.attached_pic
        cover = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 90, np.uint8), format="rgb24")
        cover = cover.reformat(format="yuvj420p")
        cover.pts = 0
        out.mux(v.encode(cover) + v.encode(None))
        n = a.codec_context.frame_size
        for k in range(8):  # ~1 s of silence
            af = av.AudioFrame(format=a.codec_context.format.name, layout="mono", samples=n)
            for plane in af.planes:
                plane.update(bytes(plane.buffer_size))
            af.sample_rate, af.pts = 8000, k * n
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    return buf.getvalue()
