"""Video evaluation: CDC, flicker ratio, PSNR/SSIM per temporal mode."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: F401

from colorgan.colorize.cli import eval_video_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.film_eval import (
    VideoMetrics,
    cdc,
    channel_histograms,
    evaluate_video,
    js_divergence,
)


def test_js_divergence_bounds():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0])
    q = torch.tensor([0.0, 0.0, 0.5, 0.5])
    assert float(js_divergence(p, p)) == 0.0
    assert float(js_divergence(p, q)) == pytest.approx(1.0)  # disjoint: the maximum (log2)
    assert 0 < float(js_divergence(p, torch.tensor([0.25, 0.25, 0.25, 0.25]))) < 1


def test_cdc_zero_for_identical_frames_and_positive_for_changing_ones():
    still = torch.full((6, 3, 8, 8), 100, dtype=torch.uint8)
    assert cdc(channel_histograms(still)) == 0.0
    ramp = torch.stack([torch.full((3, 8, 8), 20 * i, dtype=torch.uint8) for i in range(6)])
    assert cdc(channel_histograms(ramp)) == pytest.approx(1.0)  # each step moves every pixel


def test_flicker_ratio_compares_output_to_ground_truth_motion():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (4, 3, 16, 16), generator=g, dtype=torch.uint8)
    same = VideoMetrics()
    same.update(real, real)
    assert same.compute()["flicker"] == pytest.approx(1.0)
    steady = VideoMetrics()
    steady.update(real[:1].repeat(4, 1, 1, 1), real)  # output never changes
    assert steady.compute()["flicker"] == 0.0


def test_static_clip_has_zero_cdc(ckpt, tmp_path):  # noqa: F811
    frame = scene_frames(1, 21)[0]
    clip = make_video(tmp_path / "still.mp4", [frame] * 6, crf=0)  # lossless: identical frames
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    row = evaluate_video(clip, c, "independent", batch_size=4)
    assert row["frames"] == 6 and row["cdc"] == 0.0 and row["cdc_gt"] == 0.0
    assert np.isnan(row["flicker"])  # the original does not move: no ratio to report


def test_eval_video_cli_one_row_per_mode(ckpt, tmp_path, capsys):  # noqa: F811
    clip = make_video(tmp_path / "clip.mp4", scene_frames(8, 22))
    out = tmp_path / "rows.json"
    rc = eval_video_main([str(clip), "--ckpt", str(ckpt), "--temporal", "independent", "smooth",
                          "--strength", "0.9", "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "| independent | 8 |" in table and "| smooth | 8 |" in table
    rows = json.loads(out.read_text())
    assert [r["mode"] for r in rows] == ["gray", "independent", "smooth"]
    assert "| gray | 8 |" in table and rows[0]["colorfulness"] < 1  # ab = 0, always there
    rows = rows[1:]
    for r in rows:
        assert 10 < r["psnr"] < 60 and 0 < r["ssim"] <= 1 and r["cdc"] >= 0 and r["flicker"] >= 0
    assert rows[1]["flicker"] <= rows[0]["flicker"]  # heavy smoothing steadies the chroma


def test_eval_video_rejects_a_mode_the_model_cannot_run(ckpt, tmp_path, capsys):  # noqa: F811
    clip = make_video(tmp_path / "clip.mp4", scene_frames(3, 23))
    rc = eval_video_main([str(clip), "--ckpt", str(ckpt), "--temporal", "dependent"])
    assert rc == 1 and "3 input channels" in capsys.readouterr().err
