"""The film pipeline's threads: a failure in any stage stops all and is raised once; frames
without timestamps; encoder choices; the generator sees the frame's aspect ratio."""
from __future__ import annotations

import threading
import traceback
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from test_video_helpers import ckpt, make_video, scene_frames, video_stats  # noqa: F401

import colorgan.colorize.films as films
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.colorize.keyframes import CPU_INTERVAL
from colorgan.utils.pipeline import Pipeline
from colorgan.video.io import VideoError, VideoWriter, encoder_options, read_frames


@pytest.fixture(scope="module")
def colorizer(ckpt):  # noqa: F811
    return Colorizer.from_checkpoint(ckpt, device="cpu")


def stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("colorgan-")]


def fail_after(n: int):
    calls = {"n": 0}

    def maybe_fail(*_a, **_k) -> None:
        calls["n"] += 1
        if calls["n"] > n:
            raise RuntimeError("injected failure")

    return maybe_fail, calls


@pytest.mark.parametrize("stage", ["decoder", "model", "encoder"])
@pytest.mark.parametrize("recombine", ["yuv", "lab"])
def test_failure_in_any_stage_stops_all_and_is_raised_once(colorizer, tmp_path, monkeypatch,
                                                           stage, recombine):
    src = make_video(tmp_path / "in.mp4", scene_frames(40, 1))
    maybe_fail, calls = fail_after(3)
    if stage == "decoder":
        real = films.read_frames

        def broken(*a, **k):
            for f in real(*a, **k):
                maybe_fail()
                yield f

        monkeypatch.setattr(films, "read_frames", broken)
    elif stage == "model":
        real_predict = colorizer.predict_ab
        monkeypatch.setattr(colorizer, "predict_ab",
                            lambda *a, **k: (maybe_fail(), real_predict(*a, **k))[1])
    else:
        name = "write_yuv" if recombine == "yuv" else "write"
        real_write = getattr(VideoWriter, name)
        monkeypatch.setattr(VideoWriter, name,
                            lambda self, *a: (maybe_fail(), real_write(self, *a))[1])
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="injected failure") as info:
        colorize_video(src, out, colorizer, batch_size=1, recombine=recombine, progress=False)
    report = "".join(traceback.format_exception(info.value))
    assert report.count("RuntimeError: injected failure") == 1 and "Stopped" not in report  # reported once
    assert calls["n"] == 4                 # the failing stage was not called again
    assert stage_threads() == []           # decoder and encoder threads all ended
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_a_full_queue_does_not_block_a_stopped_stage():
    with pytest.raises(ValueError, match="consumer gave up"):
        with Pipeline() as pipe:
            items = pipe.source(iter(range(10_000)), depth=2)  # the producer fills its queue
            next(items)
            raise ValueError("consumer gave up")
    assert stage_threads() == []


def test_frames_without_timestamps_get_them_from_the_frame_rate(colorizer, tmp_path):
    raw = tmp_path / "raw.h264"  # an elementary stream: the demuxer gives no pts at all
    with av.open(str(raw), "w", format="h264") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i, img in enumerate(scene_frames(10, 2)):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    assert [f.time for f in read_frames(raw)] == pytest.approx([i / 25 for i in range(10)])
    dst = tmp_path / "out.mp4"
    colorize_video(raw, dst, colorizer, batch_size=4, progress=False)
    s = video_stats(dst)
    assert s["frames"] == 10 and s["rate"] == 25
    assert s["times"] == [Fraction(i, 25) for i in range(10)]


def test_encoder_choices(colorizer, tmp_path):
    src = make_video(tmp_path / "in.mp4", scene_frames(4, 3))
    for codec, suffix in [("libx265", ".mp4"), ("libvpx-vp9", ".webm")]:
        out = tmp_path / f"{codec}{suffix}"
        colorize_video(src, out, colorizer, codec=codec, crf=30, progress=False)
        with av.open(str(out)) as c:
            assert c.streams.video[0].codec_context.name == codec.replace("lib", "") \
                .replace("x265", "hevc").replace("vpx-vp9", "vp9")
        assert video_stats(out)["frames"] == 4
    out = tmp_path / "fast.mp4"
    colorize_video(src, out, colorizer, preset="ultrafast", progress=False)
    assert video_stats(out)["frames"] == 4
    assert encoder_options("libx264", 20, "slow") == {"crf": "20", "preset": "slow"}
    with pytest.raises(VideoError, match="--preset warp.*ultrafast"):
        colorize_video(src, tmp_path / "bad.mp4", colorizer, preset="warp", progress=False)
    with pytest.raises(VideoError, match="--codec no-such-codec: this PyAV/FFmpeg build"):
        encoder_options("no-such-codec")
    if not torch.cuda.is_available():
        with pytest.raises(VideoError, match="--codec h264_nvenc: needs an NVIDIA GPU"):
            colorize_video(src, tmp_path / "gpu.mp4", colorizer, codec="h264_nvenc",
                           progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["fast.mp4", "in.mp4", "libvpx-vp9.webm", "libx265.mp4"]  # no partial outputs


def test_generator_input_keeps_the_aspect_ratio(colorizer, monkeypatch):
    assert colorizer.size_multiple == 32 and colorizer.image_size == 32
    assert colorizer.net_size(720, 1280) == (32, 64)    # 16:9 -> 32 x 57 -> 32 x 64
    assert colorizer.net_size(1280, 720) == (64, 32)    # portrait
    assert colorizer.net_size(480, 640) == (32, 32)     # 4:3 rounds to square at 32 px
    frames = torch.zeros(2, 3, 90, 160, dtype=torch.uint8)
    assert colorizer.prepare(frames).real_A.shape == (2, 1, 32, 64)
    y = torch.zeros(2, 1, 90, 160, dtype=torch.uint8)
    prep = colorizer.prepare_luma(y)
    assert prep.real_A.shape == (2, 1, 32, 64) and prep.chroma_size == (45, 80)
    assert colorizer.colorize(frames).shape == frames.shape
    monkeypatch.setattr(colorizer, "resize", "square")
    assert colorizer.net_size(720, 1280) == (32, 32)
    with pytest.raises(ValueError, match="--resize"):
        Colorizer(colorizer.netG, "lab", 32, resize="stretch")


def test_memory_is_bounded_by_the_queues(colorizer, tmp_path, monkeypatch):
    """The decoder never runs more than the queues + one batch + the keyframe lookahead ahead of
    the encoder."""
    src = make_video(tmp_path / "long.mp4", scene_frames(60, 5))
    monkeypatch.setattr(films, "QUEUE_DEPTH", 4)
    decoded, written, ahead = [0], [0], []
    real = films.read_frames

    def counting(*a, **k):
        for f in real(*a, **k):
            decoded[0] += 1
            ahead.append(decoded[0] - written[0])
            yield f

    real_write = VideoWriter.write_yuv

    def write(self, *a):
        written[0] += 1
        real_write(self, *a)

    monkeypatch.setattr(films, "read_frames", counting)
    monkeypatch.setattr(VideoWriter, "write_yuv", write)
    colorize_video(src, tmp_path / "out.mp4", colorizer, batch_size=4, progress=False)
    assert written[0] == 60
    lookahead = CPU_INTERVAL - 1  # frames waiting for the next chroma keyframe (auto on CPU)
    # queues + the window being coloured + the one whose planes convert beside it + lookahead
    # + in hand: a constant, whatever the film's length
    assert max(ahead) <= 4 + 4 + 4 + lookahead + 4 + 2
    assert np.mean(ahead) > 1  # the stages did overlap


def test_cli_film_options(ckpt, tmp_path, capsys):  # noqa: F811
    from colorgan.colorize.cli import colorize_main

    src = make_video(tmp_path / "in.mp4", scene_frames(4, 6))
    out = tmp_path / "out.mkv"
    rc = colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                        "--recombine", "lab", "--resize", "square", "--preset", "ultrafast",
                        "--codec", "libx265", "--crf", "28"])
    assert rc == 0 and "recombine=lab" in capsys.readouterr().out
    assert video_stats(out)["frames"] == 4
    rc = colorize_main([str(src), "-o", str(tmp_path / "x.mp4"), "--ckpt", str(ckpt),
                        "--no-progress", "--preset", "warp"])
    assert rc == 1 and "--preset warp" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
