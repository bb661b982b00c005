"""Chroma keyframes: the generator sees only keyframes (every k-th frame of a shot, and every
cut), frames in between get blended (or held) planes within their scene, every frame comes out
once in order, the film's frames and timestamps are unchanged, and the quality cost on a real
clip stays small."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from test_video_helpers import ckpt, ckpt_dependent, make_video, scene_frames, video_stats  # noqa: F401

from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_planes, colorize_video, cpu_threads
from colorgan.colorize.keyframes import CPU_INTERVAL, auto_interval, blend_planes
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.video.io import ColourTags, Frame, probe, read_frames

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "realshort.mp4"


@pytest.fixture(scope="module")
def colorizer(ckpt):  # noqa: F811
    return Colorizer.from_checkpoint(ckpt, device="cpu")


def level_frames(n: int) -> list[Frame]:
    """Frame i is flat with luma 20 + 8 i, so its planes tell which frame made them."""
    return [Frame(i, i, Fraction(1, 25), None, 1,
                  (np.full((16, 32), 20 + 8 * i, np.uint8), np.full((8, 16), 128, np.uint8),
                   np.full((8, 16), 128, np.uint8))) for i in range(n)]


def test_model_runs_on_keyframes_only_and_cuts_force_one(colorizer, monkeypatch):
    frames, cut = level_frames(21), 11
    tc, done = TemporalColorizer(colorizer), [0]

    def starts(luma: torch.Tensor) -> list[bool]:  # the scene detector, with a cut at 11
        first, done[0] = done[0], done[0] + len(luma)
        return [first + i in (0, cut) for i in range(len(luma))]

    monkeypatch.setattr(tc, "scene_starts", starts)
    seen: list[int] = []  # the luma level of every frame the generator was given

    def fake_finish(prep, ab, matrix, full_range):  # planes = the keyframe's own luma level
        level = (prep.luma.mean((1, 2, 3)) * 219 + 16).round().to(torch.uint8)  # (K,)
        seen.extend(int(v) for v in level)
        return level[:, None, None, None].expand(-1, 2, 8, 16).clone()

    monkeypatch.setattr(colorizer, "finish_planes", fake_finish)
    tags = ColourTags.of(1, 1, 16)
    out = list(colorize_planes(iter(frames), tc, tags, batch_size=3, keyframe_interval=4))
    keys = [0, 4, 8, 11, 15, 19]  # every 4th frame of a scene, the cut at 11 restarts the count
    assert seen == [20 + 8 * k for k in keys]
    got = [(f, uv) for fs, uvs in out for f, uv in zip(fs, uvs)]
    assert [f.index for f, _ in got] == list(range(21))  # every frame once, in order
    level = {k: np.full((2, 8, 16), 20 + 8 * k, np.uint8) for k in keys}
    for f, uv in got:
        i = f.index
        a = max(k for k in keys if k <= i)
        b = min((k for k in keys if k > i), default=None)
        if i in keys or b is None or b == cut:  # keyframe, film's tail, or before the cut: hold
            np.testing.assert_array_equal(uv, level[a])
        else:
            np.testing.assert_array_equal(uv, blend_planes(level[a], level[b], i - a, b - a))
    assert got[2][1][0, 0, 0] == 36  # halfway between frames 0 (20) and 4 (52)

    done[0] = 0  # hold: the same keyframes, frames in between keep the last one's planes
    seen.clear()
    held = [uv for fs, uvs in colorize_planes(iter(frames), tc, tags, 3, 4, blend=False)
            for uv in uvs]
    assert seen == [20 + 8 * k for k in keys]
    assert [int(uv[0, 0, 0]) for uv in held] == [20 + 8 * max(k for k in keys if k <= i)
                                                 for i in range(21)]


def test_blend_planes_rounds_between_the_two():
    a, b = np.zeros((2, 1, 1), np.uint8), np.full((2, 1, 1), 255, np.uint8)
    assert [int(blend_planes(a, b, t, 4)[0, 0, 0]) for t in range(5)] == [0, 64, 128, 191, 255]


def test_film_frames_and_timestamps_unchanged(colorizer, tmp_path):
    frames = scene_frames(7, 11) + scene_frames(7, 12, dark=True)  # a cut at frame 7
    src = make_video(tmp_path / "cut.mp4", frames, rate=25)
    calls: list[int] = []
    h = colorizer.netG.register_forward_pre_hook(lambda m, args: calls.append(args[0].shape[0]))
    try:
        r = colorize_video(src, tmp_path / "k.mp4", colorizer, keyframe_interval=3,
                           batch_size=4, progress=False)
    finally:
        h.remove()
    assert r.cuts == [7] and sum(calls) == 6  # frames 0, 3, 6, 7 (cut), 10, 13
    s_in, s_out = video_stats(src), video_stats(tmp_path / "k.mp4")
    assert s_out["times"] == s_in["times"] and s_out["frames"] == 14


def test_options_and_temporal_modes(colorizer, ckpt_dependent, tmp_path):  # noqa: F811
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert auto_interval("auto", cpu, "independent") == CPU_INTERVAL == 4
    assert auto_interval("auto", gpu, "independent") == 1
    assert auto_interval("auto", cpu, "dependent") == 1
    assert auto_interval("6", cpu, "smooth") == 6
    for bad in ("0", "x", -2):
        with pytest.raises(ValueError, match="--keyframe-interval"):
            auto_interval(bad, cpu, "independent")
    dep = Colorizer.from_checkpoint(ckpt_dependent, device="cpu")
    src = make_video(tmp_path / "in.mp4", scene_frames(10, 3))
    with pytest.raises(ValueError, match="--keyframe-interval 4: --temporal dependent"):
        colorize_video(src, tmp_path / "dep.mp4", dep, "dependent", keyframe_interval=4,
                       progress=False)
    assert not (tmp_path / "dep.mp4").exists()
    for mode, c in (("smooth", colorizer), ("dependent", dep)):  # auto works with every mode
        r = colorize_video(src, tmp_path / f"{mode}.mp4", c, mode, progress=False)
        assert r.frames == 10 and video_stats(tmp_path / f"{mode}.mp4")["frames"] == 10
    with pytest.raises(ValueError, match="--model-threads"):
        with cpu_threads("0", cpu):
            pass
    before = torch.get_num_threads()
    with cpu_threads("1", cpu):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.skipif(not REAL.is_file(), reason=f"{REAL} (shared real data) is absent")
def test_real_clip_quality_close_to_every_frame(colorizer):
    """realshort.mp4: chroma planes with a keyframe every 15 frames are within 0.5 dB of
    colouring every frame (PSNR against the original's planes)."""
    tags = probe(REAL).tags

    def planes_psnr(k: int) -> float:
        err, n = 0.0, 0
        for fs, uvs in colorize_planes(read_frames(REAL, planes=True),
                                       TemporalColorizer(colorizer), tags, 8, k):
            for f, uv in zip(fs, uvs):
                err += float(np.mean((uv.astype(float) - np.stack(f.yuv[1:])) ** 2))
                n += 1
        assert n == 36
        return 10 * np.log10(255**2 / (err / n))

    every, keyed = planes_psnr(1), planes_psnr(15)
    assert keyed > every - 0.5, (every, keyed)
