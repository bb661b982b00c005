"""Luma passthrough: the decoded Y' plane reaches the encoder bit-exact, only Cb/Cr are new;
colour matrix and range come from the stream's tags and are written to the output."""
from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from av.video.reformatter import Interpolation, VideoReformatter
from conftest import shared_data
from test_video_helpers import ckpt, make_video, scene_frames, video_stats  # noqa: F401

from colorgan.color import YUV_MATRICES, rgb_to_chroma_planes, yuv_to_rgb
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.video.io import ColourTags, VideoWriter, probe, read_frames


@pytest.fixture(scope="module")
def colorizer(ckpt):  # noqa: F811
    return Colorizer.from_checkpoint(ckpt, device="cpu")


def lumas(path) -> np.ndarray:
    return np.stack([f.yuv[0] for f in read_frames(path, planes=True)]).astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / max(((a - b) ** 2).mean(), 1e-12)))


def test_real_clip_luma_is_passed_bit_exact_and_survives_crf18(colorizer, tmp_path, monkeypatch):
    src = shared_data("videos/realshort.mp4")
    sent = []
    write_yuv = VideoWriter.write_yuv
    monkeypatch.setattr(VideoWriter, "write_yuv",
                        lambda self, y, u, v, *a: (sent.append((y.copy(), u.copy())),
                                                   write_yuv(self, y, u, v, *a))[1])
    out = tmp_path / "out.mp4"
    r = colorize_video(src, out, colorizer, crf=18, progress=False)
    assert r.recombine == "yuv" and r.frames == len(sent) == 36
    y_in = lumas(src)
    assert np.array_equal(np.stack([y for y, _ in sent]), y_in)  # bit-exact up to the encoder
    assert psnr(lumas(out), y_in) >= 40.0              # the encoder's own loss only
    u_out = np.stack([f.yuv[1] for f in read_frames(out, planes=True)]).astype(float)
    u_new = np.stack([u for _, u in sent]).astype(float)
    assert u_out.shape == (36, 120, 160)               # 4:2:0 chroma planes
    assert psnr(u_out, u_new) >= 40.0                  # the new chroma is what was encoded
    u_in = np.stack([f.yuv[1] for f in read_frames(src, planes=True)]).astype(float)
    assert psnr(u_out, u_in) < psnr(u_out, u_new)      # not the source's chroma
    a, b = video_stats(src), video_stats(out)
    assert b["times"] == a["times"] and b["size"] == a["size"]
    assert b["audio_packets"] == a["audio_packets"]
    assert probe(out).tags == ColourTags("bt601", False, tagged=True)  # untagged 240p: BT.601


def test_default_and_tagged_colour_matrix_and_range():
    assert ColourTags.of(2, 0, 720) == ColourTags("bt709", False, False)   # untagged HD
    assert ColourTags.of(2, 0, 480) == ColourTags("bt601", False, False)   # untagged SD
    assert ColourTags.of(2, 0, 480, "yuvj420p").full_range
    assert ColourTags.of(1, 2, 480) == ColourTags("bt709", True, True)     # tags win
    assert ColourTags.of(6, 1, 1080) == ColourTags("bt601", False, True)


@pytest.mark.parametrize("matrix", list(YUV_MATRICES))
@pytest.mark.parametrize("full", [False, True])
def test_chroma_planes_match_ffmpeg(matrix, full):
    """Our Cb/Cr maths equals swscale's for each matrix and range (4:4:4, so no subsampling)."""
    rgb = np.random.default_rng(0).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    tags = ColourTags(matrix, full)
    frame = VideoReformatter().reformat(
        av.VideoFrame.from_ndarray(rgb, format="rgb24"), format="yuv444p",
        dst_colorspace=tags.av_colorspace, dst_color_range=tags.av_range,
        interpolation=Interpolation.BICUBIC | Interpolation.ACCURATE_RND)
    y, u, v = (np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
               for p in frame.planes)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    uv = rgb_to_chroma_planes(x, matrix, full)[0].numpy().astype(int)
    assert np.abs(uv[0] - u).max() <= 1 and np.abs(uv[1] - v).max() <= 1
    back = yuv_to_rgb(torch.from_numpy(y.copy())[None, None], torch.from_numpy(uv)[None],
                      matrix, full)
    assert (back - x).abs().max() < 3 / 255


def test_full_range_tagged_input_keeps_range_and_luma(colorizer, tmp_path):
    src = tmp_path / "full.mkv"
    with av.open(str(src), "w") as out:  # a BT.709 full-range clip
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.colorspace, v.codec_context.color_range = 1, 2
        for i, img in enumerate(scene_frames(8, 3)):
            f = VideoReformatter().reformat(av.VideoFrame.from_ndarray(img, format="rgb24"),
                                            format="yuv420p", dst_colorspace="itu709",
                                            dst_color_range="JPEG")
            f.pts, f.colorspace, f.color_range = i, 1, 2
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    assert probe(src).tags == ColourTags("bt709", True, True)
    out = tmp_path / "out.mkv"
    colorize_video(src, out, colorizer, progress=False)
    assert probe(out).tags == ColourTags("bt709", True, True)
    assert psnr(lumas(out), lumas(src)) >= 40.0
    assert lumas(src).max() > 235  # full-range levels were there and kept


def test_lab_recombination_stays_available(colorizer, tmp_path):
    src = make_video(tmp_path / "in.mp4", scene_frames(6, 4))
    out = tmp_path / "lab.mp4"
    r = colorize_video(src, out, colorizer, recombine="lab", progress=False)
    assert r.recombine == "lab" and video_stats(out)["frames"] == 6
    with pytest.raises(ValueError, match="--recombine 'rgb'"):
        colorize_video(src, tmp_path / "x.mp4", colorizer, recombine="rgb", progress=False)
    odd = make_video(tmp_path / "odd.mkv", [f[:47, :63] for f in scene_frames(3, 5)], crf=0)
    assert colorize_video(odd, tmp_path / "odd_out.mkv", colorizer,
                          progress=False).recombine == "lab"  # 4:2:0 needs even sizes
