"""Streaming video colorization: frames, timestamps, size and audio survive; bad inputs fail
clearly; an interrupted run leaves nothing at the target."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import shared_data
from test_video_helpers import ckpt, make_video, scene_frames, video_stats  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.utils.atomic import OutputExistsError
from colorgan.video.io import VideoError, read_frames


@pytest.fixture(scope="module")
def colorizer(ckpt):  # noqa: F811
    return Colorizer.from_checkpoint(ckpt, device="cpu")


def test_real_clip_keeps_frames_rate_timestamps_size_and_audio(colorizer, tmp_path):
    src = shared_data("videos/realshort.mp4")
    out = tmp_path / "out.mp4"
    r = colorize_video(src, out, colorizer, batch_size=8, progress=False)
    a, b = video_stats(src), video_stats(out)
    assert r.frames == a["frames"] == b["frames"] == 36
    assert b["times"] == a["times"]  # every presentation time, exactly
    assert b["rate"] == a["rate"] and b["size"] == a["size"] == (320, 240)
    assert a["audio_packets"] > 0
    assert (b["audio_packets"], b["audio_duration"]) == (a["audio_packets"], a["audio_duration"])


def test_720p_input_gives_720p_output_with_a_32px_model_and_trimmed_audio(colorizer, tmp_path):
    src = shared_data("videos/fire2.mp4")
    out = tmp_path / "fire.mkv"
    colorize_video(src, out, colorizer, batch_size=2, max_frames=3, progress=False)
    s = video_stats(out)
    assert colorizer.image_size == 32
    assert s["size"] == (1280, 720) and s["frames"] == 3
    assert 0 < s["audio_duration"] < Fraction(4, 10)  # audio trimmed to the 3 frames (0.3 s)


@pytest.mark.slow
def test_webm_clip_keeps_every_timestamp(colorizer, tmp_path):
    src = shared_data("videos/test.webm")
    out = tmp_path / "out.mkv"
    colorize_video(src, out, colorizer, progress=False)
    assert video_stats(out)["times"] == video_stats(src)["times"]


def test_generated_audio_track_is_copied(colorizer, tmp_path):
    src = make_video(tmp_path / "a.mp4", scene_frames(20, 1), rate=25, audio=True)
    out = tmp_path / "b.mp4"
    colorize_video(src, out, colorizer, progress=False)
    a, b = video_stats(src), video_stats(out)
    assert a["audio_packets"] > 10
    assert b["audio_packets"] == a["audio_packets"]
    assert b["audio_duration"] == a["audio_duration"]
    assert b["frames"] == 20 and b["times"] == a["times"]


def test_variable_frame_rate_survives(colorizer, tmp_path):
    pts = [0, 40, 80, 200, 240, 260, 400, 433, 500, 640]  # ms: irregular gaps
    src = make_video(tmp_path / "vfr.mkv", scene_frames(10, 2), pts=pts,
                     time_base=Fraction(1, 1000))
    out = tmp_path / "vfr_out.mkv"
    colorize_video(src, out, colorizer, batch_size=4, progress=False)
    assert video_stats(out)["times"] == [Fraction(p, 1000) for p in pts]


def test_compare_video_is_side_by_side(colorizer, tmp_path):
    src = make_video(tmp_path / "c.mp4", scene_frames(6, 3))  # colour input: 3 panels
    out = tmp_path / "cmp.mp4"
    colorize_video(src, out, colorizer, compare=True, progress=False)
    assert video_stats(out)["size"] == (3 * 64, 48)
    gray = make_video(tmp_path / "g.mp4", [f.mean(2, keepdims=True).repeat(3, 2).astype("uint8")
                                           for f in scene_frames(6, 3)])
    colorize_video(gray, tmp_path / "cmp2.mp4", colorizer, compare=True, progress=False)
    assert video_stats(tmp_path / "cmp2.mp4")["size"] == (2 * 64, 48)  # no original to show


def test_interrupted_run_leaves_no_file(colorizer, tmp_path):
    src = make_video(tmp_path / "in.mp4", scene_frames(12, 4))
    out = tmp_path / "out" / "film.mp4"

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(src, out, colorizer, batch_size=4, on_batch=interrupt, progress=False)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no partial temp file either


def test_existing_output_needs_overwrite(colorizer, tmp_path):
    src = make_video(tmp_path / "in.mp4", scene_frames(4, 5))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        colorize_video(src, out, colorizer, progress=False)
    assert out.read_bytes() == b"precious"
    colorize_video(src, out, colorizer, overwrite=True, progress=False)
    assert video_stats(out)["frames"] == 4


def test_unreadable_video_names_the_file(ckpt, tmp_path, capsys):  # noqa: F811
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(VideoError, match="broken.mp4"):
        next(read_frames(bad))
    rc = colorize_main([str(bad), "-o", str(tmp_path / "o.mp4"), "--ckpt", str(ckpt),
                        "--no-progress"])
    assert rc == 1 and "broken.mp4" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_truncated_video_keeps_decoded_frames_and_warns(colorizer, tmp_path):
    rng = np.random.default_rng(0)  # noisy frames: every frame is big, so the cut is mid-stream
    frames = [np.clip(f + rng.integers(0, 60, f.shape), 0, 255).astype(np.uint8)
              for f in scene_frames(30, 6)]
    src = make_video(tmp_path / "full.mp4", frames, faststart=True)  # index first, then data
    cut = tmp_path / "cut.mp4"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "cut_out.mp4"
    with pytest.warns(UserWarning, match=r"cut\.mp4.*stopped at frame \d+"):
        r = colorize_video(cut, out, colorizer, progress=False)
    assert 0 < r.frames < 30
    assert video_stats(out)["frames"] == r.frames


def test_unknown_codec_is_a_clear_error(colorizer, tmp_path):
    src = make_video(tmp_path / "in.mp4", scene_frames(3, 7))
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoError, match="--codec no-such-codec"):
        colorize_video(src, out, colorizer, codec="no-such-codec", progress=False)
    assert list(tmp_path.iterdir()) == [src]  # nothing written, no temp file left


def test_stopping_a_decode_early_many_times_never_hangs(tmp_path):
    """A decoder closed before the film's end (--max-frames, a failure downstream, a generator
    dropped) while colorgan listens to FFmpeg's log must close: with FFmpeg's frame threads this
    could deadlock (the test then fails on pytest's timeout, with every thread's stack)."""
    import gc

    src = make_video(tmp_path / "long.mp4", scene_frames(40, 4, 96, 128), crf=23)
    for k in range(1, 16):
        assert len(list(read_frames(src, max_frames=k % 7 + 1))) == k % 7 + 1
        it = read_frames(src, planes=bool(k % 2))
        next(it), next(it)
        del it  # dropped mid-film: closed by the garbage collector
        gc.collect()
