"""Damaged or unusual films are named, not guessed (docs/reliability.md, round three): a WebM
cut with no duration in its header, a stream whose frame size changes, a full disk while the
film is written. The videos are generated here; one test also cuts the real
``../shared/data/videos/test.webm``."""
from __future__ import annotations

import errno
import shutil
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import shared_data
from test_video_helpers import ckpt, make_video, mp3_with_cover_art, scene_frames  # noqa: F401

from colorgan.colorize.cli import colorize_main, eval_video_main
from colorgan.video import io as video_io
from colorgan.video.io import read_frames

CUT_AT = 537_158  # bytes of ../shared/data/videos/test.webm kept: 45 of its 94 frames


def _live_webm(path: Path, n: int = 50) -> Path:
    """A WebM written as a live stream (no cues, no duration: what browsers record)."""
    with av.open(str(path), "w", options={"live": "1"}) as out:
        v = out.add_stream("libvpx-vp9", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for img in scene_frames(n, 4):
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")))
        out.mux(v.encode(None))
    with av.open(str(path)) as c:  # the case this covers: nothing in the header to compare
        assert c.duration is None and not c.streams.video[0].frames
    return path


def _count(path: Path) -> tuple[int, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = sum(1 for _ in read_frames(path, planes=True))
    return n, [str(w.message) for w in caught]


def test_real_webm_cut_without_duration_warns(tmp_path):
    src = shared_data("videos/test.webm")
    cut = tmp_path / "test_cut.webm"
    with open(src, "rb") as f:
        cut.write_bytes(f.read(CUT_AT))
    n, said = _count(cut)
    assert n == 45 and len(said) == 1, said
    assert str(cut) in said[0] and "truncated" in said[0] and "File ended prematurely" in said[0]
    assert "stopped at frame 45" in said[0]
    assert _count(src) == (94, [])  # the whole file: no warning


def test_generated_webm_cut_without_duration_warns_in_colorize_and_eval_video(
        ckpt, tmp_path, capsys):  # noqa: F811
    full = _live_webm(tmp_path / "live.webm")
    data = full.read_bytes()
    cut = tmp_path / "live_cut.webm"
    cut.write_bytes(data[:len(data) // 2])
    assert _count(full) == (50, [])
    n, said = _count(cut)
    assert 0 < n < 50 and len(said) == 1 and f"stopped at frame {n}" in said[0]
    for _ in range(2):  # a second read says it again (FFmpeg's repeated-line filter is off)
        assert _count(cut)[1] == said
    out = tmp_path / "cut_color.mkv"
    said_here = f"{cut}: the file is truncated .* stopped at frame {n} "
    with pytest.warns(UserWarning, match=said_here):  # the CLI prints it as "warning: ..."
        assert colorize_main([str(cut), "-o", str(out), "--ckpt", str(ckpt),
                              "--no-progress"]) == 0
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == n
    with pytest.warns(UserWarning, match=said_here):
        assert eval_video_main([str(cut), "--ckpt", str(ckpt)]) == 0
    assert f"| independent | {n} |" in capsys.readouterr().out


def _h264_packets(w: int, h: int, n: int, start: int) -> list[av.Packet]:
    cc = av.CodecContext.create("libx264", "w")
    cc.width, cc.height, cc.pix_fmt = w, h, "yuv420p"
    cc.time_base, cc.framerate = Fraction(1, 25), Fraction(25)
    packets = []
    for i, img in enumerate(scene_frames(n, start, h=h, w=w)):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        frame.pts = i
        packets += cc.encode(frame)
    packets += cc.encode(None)
    for p in packets:  # the second encoder session continues the first one's clock
        p.pts, p.dts = p.pts + start, p.dts + start
    return packets


def _size_changing_ts(path: Path) -> Path:
    """An MPEG-TS whose H.264 stream goes from 64x48 (frames 0-9) to 96x64 (frames 10-19)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("h264", rate=25)
        s.width, s.height, s.time_base = 64, 48, Fraction(1, 25)
        for p in _h264_packets(64, 48, 10, 0) + _h264_packets(96, 64, 10, 10):
            p.stream, p.time_base = s, Fraction(1, 25)
            c.mux(p)
    return path


@pytest.mark.parametrize("recombine", ["yuv", "lab"])
def test_frame_size_change_is_scaled_to_the_first_size(ckpt, tmp_path, recombine):  # noqa: F811
    src = _size_changing_ts(tmp_path / "broadcast.ts")
    with av.open(str(src)) as c:
        decoded = [((f.width, f.height), float(f.pts * f.time_base)) for f in c.decode(video=0)]
    sizes, times = zip(*decoded)
    assert sizes[9] == (64, 48) and sizes[10] == (96, 64)  # the test file is what it says
    out = tmp_path / "broadcast_color.mkv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                              "--recombine", recombine]) == 0
    said = [str(w.message) for w in caught if "frame size" in str(w.message)]
    assert len(said) == 1 and str(src) in said[0], said  # once, naming the frame and both sizes
    assert "the frame size changes at frame 10, from 64x48 to 96x64" in said[0]
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert {(f.width, f.height) for f in frames} == {(64, 48)} and len(frames) == 20
    got = [float(f.pts * f.time_base) for f in frames]
    assert np.allclose(np.array(got) - got[0], np.array(times) - times[0], atol=1e-3)


def _full_disk_after(k: int, monkeypatch) -> None:
    """The film's muxer fails like FFmpeg on a full disk, naming the file it writes (the
    hidden temporary one), after ``k`` frames."""
    real = video_io.VideoWriter._encode
    seen = {"n": 0}

    def encode(self, frame, pts, duration):
        seen["n"] += 1
        if seen["n"] > k:
            raise av.error.OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real(self, frame, pts, duration)

    monkeypatch.setattr(video_io.VideoWriter, "_encode", encode)


@pytest.mark.parametrize("earlier", [False, True])
def test_full_disk_while_writing_a_film_names_the_target(ckpt, tmp_path, capsys,  # noqa: F811
                                                         monkeypatch, earlier):
    src = make_video(tmp_path / "in.mp4", scene_frames(12, 5))
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "film.mp4"
    if earlier:
        shutil.copy(src, out)
    before = out.read_bytes() if earlier else None
    _full_disk_after(3, monkeypatch)
    args = [str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress", "--batch-size", "2"]
    assert colorize_main([*args, *(["--overwrite"] if earlier else [])]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: -o {out}: the film could not be written (No space left on "
                          "device)"), err
    assert ".partial" not in err and "Traceback" not in err and "free some space" in err.lower()
    assert ("earlier film.mp4 there is kept" in err) == earlier
    assert sorted(p.name for p in folder.iterdir()) == (["film.mp4"] if earlier else [])
    if earlier:
        assert out.read_bytes() == before


def test_mpeg_ts_cut_mid_packet_warns(tmp_path):
    full = make_video(tmp_path / "rec.ts", scene_frames(30, 6))
    data = full.read_bytes()
    assert len(data) % 188 == 0  # a whole TS: no duration in it to compare with
    keep = len(data) * 2 // 3
    cut = tmp_path / "rec_cut.ts"
    cut.write_bytes(data[:keep if keep % 188 else keep - 1])
    assert _count(full) == (30, [])
    n, said = _count(cut)
    assert 0 < n < 30 and len(said) == 1 and str(cut) in said[0], said
    assert "truncated" in said[0] and "MPEG-TS packets" in said[0] and f"frame {n}" in said[0]


def test_eval_video_json_that_cannot_be_written_names_it(ckpt, tmp_path, capsys,  # noqa: F811
                                                         monkeypatch):
    import colorgan.utils.atomic as atomic

    src = make_video(tmp_path / "clip.mp4", scene_frames(4, 7))
    assert eval_video_main([str(src), "--ckpt", str(ckpt), "--json", str(tmp_path)]) == 1
    assert f"--json {tmp_path}: is a folder" in capsys.readouterr().err
    target = tmp_path / "rows.json"

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(atomic.temp_path_for(path)))

    monkeypatch.setattr(atomic, "write_text_atomic", full)
    assert eval_video_main([str(src), "--ckpt", str(ckpt), "--json", str(target)]) == 1
    captured = capsys.readouterr()
    assert "| independent | 4 |" in captured.out  # the table came first
    assert captured.err.startswith(f"error: --json {target}: cannot be written (No space left")
    assert ".partial" not in captured.err and not target.exists()


def test_audio_with_cover_art_is_not_a_film(ckpt, tmp_path, capsys):  # noqa: F811
    """An album cover is a video stream marked attached_pic: the reader never takes it for a
    film (colorize names the file and says it is audio only; nothing is written). A file whose
    cover comes before its real video (possible in some containers) is read from the video."""
    song = tmp_path / "song.mp4"  # MP3 audio named as a film: FFmpeg reads what it holds
    song.write_bytes(mp3_with_cover_art())
    with av.open(str(song)) as c:  # the case this covers: the only video stream is the cover
        assert [video_io.is_cover_art(s) for s in c.streams.video] == [True]
    with pytest.raises(video_io.VideoError, match="only picture is cover art"):
        video_io.probe(song)
    out = tmp_path / "song_color.mp4"
    assert colorize_main([str(song), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert str(song) in err and "audio only" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))
