"""eval-video --reference-frames: reference frames left out of every row, the naive rows
checked against a direct computation, the gray row, and bad values named."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: F401

from colorgan.color import float_to_uint8, lab_norm_to_rgb, rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.cli import eval_video_main
from colorgan.colorize.eval_references import parse_spec, plan_references, shot_sources
from colorgan.colorize.film_eval import evaluate_video
from colorgan.metrics import rgb_ciede2000
from colorgan.video.io import read_frames


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory):
    """10 frames: a pan over one scene (6 frames), then a cut to another (4 frames)."""
    frames = scene_frames(6, 31) + scene_frames(4, 77, dark=True)
    return make_video(tmp_path_factory.mktemp("clip") / "cut.mp4", frames, crf=0)


def _truth(clip) -> torch.Tensor:
    return torch.stack([torch.from_numpy(f.rgb).permute(2, 0, 1) for f in read_frames(clip)])


def test_shot_sources_forwards_backwards_and_never_across_a_cut():
    refs = {2: None, 4: None, 8: None}
    # shot 0..5: 0, 1 before the first reference take it (backwards); shot 6..9: only 8
    assert shot_sources(10, [6], refs) == [2, 2, 2, 2, 4, 4, 8, 8, 8, 8]
    assert shot_sources(4, [2], {0: None}) == [0, 0, None, None]  # a shot without reference


def test_first_is_each_shots_first_frame_and_every_n_is_every_nth(cut_clip):
    first = plan_references(cut_clip, "first")
    assert first.cuts == [6] and sorted(first.refs) == [0, 6] and first.frames == 10
    assert torch.equal(first.refs[6], _truth(cut_clip)[6])  # the true colour of that frame
    every = plan_references(cut_clip, "every:4")
    assert sorted(every.refs) == [0, 4, 8]


def test_naive_rows_match_a_direct_computation_without_reference_frames(cut_clip):
    plan = plan_references(cut_clip, "first")
    real = _truth(cut_clip)
    L, ab = rgb_to_lab_norm(uint8_to_float(real))
    src = [0] * 6 + [6] * 4
    copy = float_to_uint8(lab_norm_to_rgb(L, ab[src]))
    mean = float_to_uint8(lab_norm_to_rgb(L, ab[src].mean((2, 3), keepdim=True).expand_as(ab)))
    scored = [i for i in range(10) if i not in (0, 6)]
    for mode, fake in (("naive_copy", copy), ("naive_mean", mean)):
        row = evaluate_video(cut_clip, None, mode, batch_size=3, reference_frames=plan)
        assert row["frames"] == 8 and row["references"] == 2
        x, y = uint8_to_float(fake[scored]), uint8_to_float(real[scored])
        psnr = (-10 * torch.log10(((x - y) ** 2).mean((1, 2, 3)))).mean()
        assert row["psnr"] == pytest.approx(float(psnr), abs=1e-3)
        assert row["ciede2000"] == pytest.approx(float(rgb_ciede2000(x, y).mean()), abs=1e-3)
    gray = evaluate_video(cut_clip, None, "gray", reference_frames=plan)
    assert gray["frames"] == 8 and gray["colorfulness"] < 1
    copy_row = evaluate_video(cut_clip, None, "naive_copy", reference_frames=plan)
    assert copy_row["psnr"] > gray["psnr"]  # the truth's colour, even unmoved, beats none


def test_cli_rows_modes_and_frame_counts(ckpt, cut_clip, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "rows.json"
    rc = eval_video_main([str(cut_clip), "--ckpt", str(ckpt), "--temporal", "independent",
                          "smooth", "--reference-frames", "every:5", "--json", str(out)])
    err = capsys.readouterr()
    assert rc == 0, err.err
    rows = json.loads(out.read_text())
    assert [r["mode"] for r in rows] == ["gray", "independent", "smooth", "naive_copy",
                                         "naive_mean", "reference"]
    assert all(r["frames"] == 8 for r in rows)  # 10 frames less the references 0 and 5
    assert "CIEDE2000" in err.out and "| reference | 8 |" in err.out
    rc = eval_video_main([str(cut_clip), "--ckpt", str(ckpt), "--reference-frames", "first",
                          "--carry-tau", "-1"])
    assert rc == 1 and "--carry-tau -1.0: must be > 0" in capsys.readouterr().err


def test_a_folder_of_coloured_frames_is_the_references(cut_clip, tmp_path):
    from PIL import Image

    refs = tmp_path / "refs"
    refs.mkdir()
    Image.fromarray(_truth(cut_clip)[3].permute(1, 2, 0).numpy()).save(refs / "000003.png")
    row = evaluate_video(cut_clip, None, "naive_copy", reference_frames=str(refs))
    assert row["references"] == 1 and row["frames"] == 9  # frame 3 is not scored


def test_without_reference_frames_every_frame_is_scored(ckpt, cut_clip):  # noqa: F811
    from colorgan.colorize.colorizer import Colorizer
    row = evaluate_video(cut_clip, Colorizer.from_checkpoint(ckpt, device="cpu"), "independent")
    assert row["frames"] == 10 and row["references"] == 0 and np.isfinite(row["ciede2000"])
    with pytest.raises(ValueError, match="--reference-frames"):
        evaluate_video(cut_clip, None, "naive_copy")


@pytest.mark.parametrize("value, words", [("every:0", "every:N"), ("every:x", "every:N"),
                                          ("no/such/folder", "no such folder")])
def test_bad_reference_frames_are_named(ckpt, cut_clip, value, words, capsys):  # noqa: F811
    with pytest.raises(ValueError, match="--reference-frames"):
        parse_spec(value)
    rc = eval_video_main([str(cut_clip), "--ckpt", str(ckpt), "--reference-frames", value])
    err = capsys.readouterr().err
    assert rc == 1 and f"--reference-frames {value}" in err and words in err
