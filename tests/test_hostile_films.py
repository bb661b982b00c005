"""Hostile films and CLI faults (docs/reliability.md): rotated, truncated Matroska/WebM, AVI,
bad --codec / --max-frames, SIGTERM, stale partial files. Every video is generated here."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import av
import numpy as np
import pytest
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.utils.atomic import temp_path_for
from colorgan.video.io import probe, read_frames

ROOT = Path(__file__).resolve().parents[1]


def _encode(path: Path, frames: list, codec: str = "libx264", rotation: int | None = None) -> Path:
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=25)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = "yuv420p"
        if rotation is not None:
            v.set_display_rotation(rotation)
        for img in frames:
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")))
        out.mux(v.encode(None))
    return path


def test_display_rotation_is_carried_to_the_output(ckpt, tmp_path):  # noqa: F811
    src = _encode(tmp_path / "phone.mp4", scene_frames(6, 1), rotation=-90)
    out = tmp_path / "phone_color.mp4"
    assert probe(src).rotation == 270
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]) == 0
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        assert (f.width, f.height, int(f.rotation) % 360) == (64, 48, 270)


@pytest.mark.parametrize("ext,codec", [("mkv", "libx264"), ("webm", "libvpx-vp9")])
def test_truncated_matroska_and_webm_warn(tmp_path, ext, codec):
    full = _encode(tmp_path / f"full.{ext}", scene_frames(50, 2), codec)
    cut = tmp_path / f"cut.{ext}"
    data = full.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    with pytest.warns(UserWarning, match="truncated"):
        n = sum(1 for _ in read_frames(cut))
    assert 0 < n < 50
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the whole file: no warning
        assert sum(1 for _ in read_frames(full)) == 50


def test_h264_avi_input_is_colorized_and_avi_output_refused(ckpt, tmp_path, capsys):  # noqa: F811
    src = _encode(tmp_path / "old.avi", scene_frames(12, 3))
    out = tmp_path / "old.mkv"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]) == 0
    with av.open(str(out)) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    assert len(times) == 12 and times == sorted(times)
    assert abs(times[-1] - 11 / 25) < 1e-6
    rc = colorize_main([str(src), "-o", str(tmp_path / "x.avi"), "--ckpt", str(ckpt)])
    err = capsys.readouterr().err
    assert rc == 1 and "AVI" in err and ".mkv" in err and not (tmp_path / "x.avi").exists()


@pytest.mark.parametrize("args,message", [
    (["--codec", "aac"], "--codec aac: is a audio encoder"),
    (["--codec", "nonsense264"], "--codec nonsense264: no such encoder"),
    (["--max-frames", "0"], "--max-frames 0: must be >= 1"),
    (["--max-frames", "-3"], "--max-frames -3: must be >= 1"),
])
def test_bad_video_options_are_refused(ckpt, tmp_path, capsys, args, message):  # noqa: F811
    src = make_video(tmp_path / "in.mp4", scene_frames(3, 1))
    out = tmp_path / "out.mp4"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_stale_partial_file_of_a_killed_run_is_removed(ckpt, tmp_path):  # noqa: F811
    src = make_video(tmp_path / "in.mp4", scene_frames(3, 1))
    out = tmp_path / "out.mp4"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = temp_path_for(out, pid=dead.pid)
    stale.write_bytes(b"half a video")
    with pytest.warns(UserWarning, match="left by an interrupted run"):
        assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt),
                              "--no-progress"]) == 0
    assert not stale.exists() and out.is_file()


SLOW_RUN = """
import sys, time
from colorgan.colorize.colorizer import Colorizer
real = Colorizer.predict_ab
def slow(*a, **k):  # every film path calls the generator through predict_ab
    out = real(*a, **k)
    print("batch", flush=True)
    time.sleep(0.2)
    return out
Colorizer.predict_ab = slow
from colorgan.colorize.cli import colorize_main
sys.exit(colorize_main(sys.argv[1:]))
"""


def test_sigterm_ends_a_run_like_ctrl_c(ckpt, tmp_path):  # noqa: F811
    src = make_video(tmp_path / "in.mp4", scene_frames(40, 1))
    out = tmp_path / "out" / "film.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(src), "-o", str(out), "--ckpt",
                             str(ckpt), "--batch-size", "1", "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "batch\n"  # frames are being colorized
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted (signal SIGTERM)" in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []  # no film, no partial file
