"""Scene-cut detectors on a clip joined from the real clips at known frames: colorgan's own
(default threshold) and PySceneDetect's (optional ``scenes`` extra) find exactly those cuts;
unknown names and a missing extra fail with a message that says what to do."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import shared_data
from PIL import Image
from test_video_helpers import ckpt, make_video  # noqa: F401 (fixture)

from colorgan.colorize.cli import colorize_main, scenes_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.scenes import find_cuts, make_detector
from colorgan.video.io import probe, read_frames

CUTS = [30, 60, 95]


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """chaplin 0-29 | test.webm 0-29 | realshort 0-34 | fire2 (fast pan), 320x180, 25 fps."""
    srcs = [("bw/chaplin.mp4", 30), ("videos/test.webm", 30), ("videos/realshort.mp4", 35),
            ("videos/fire2.mp4", 25)]
    frames = []
    for rel, n in srcs:
        frames += [np.asarray(Image.fromarray(f.rgb).resize((320, 180), Image.BILINEAR))
                   for f in read_frames(shared_data(rel), n)]
    gray = [np.repeat(f.mean(-1, keepdims=True).round().astype(np.uint8), 3, -1) for f in frames]
    return make_video(tmp_path_factory.mktemp("joined") / "joined.mp4", gray, crf=20)


def test_colorgan_detector_finds_the_known_cuts(joined):
    assert [i for i, _ in find_cuts(joined)] == CUTS


def test_the_luma_plane_pass_sees_what_the_rgb_frames_show(joined):
    """The first pass reads the decoded Y' plane (no RGB conversion): the same cuts, and frame
    distances within 0.02 of those measured on the RGB frames."""
    tags = probe(joined).tags
    from_rgb, from_y = make_detector("colorgan"), make_detector("colorgan")
    d_rgb, d_y = [], []
    for f_rgb, f_y in zip(read_frames(joined), read_frames(joined, planes=True)):
        assert from_rgb.update(f_rgb.rgb) == from_y.update_y(f_y.yuv[0], tags.full_range)
        d_rgb.append(from_rgb.detector.last_distance)
        d_y.append(from_y.detector.last_distance)
    assert np.abs(np.array(d_rgb) - np.array(d_y)).max() < 0.02
    assert min(d_y[c] for c in CUTS) > 0.25 > max(np.delete(d_y, CUTS))


@pytest.mark.parametrize("name", ["pyscenedetect-adaptive", "pyscenedetect-content"])
def test_pyscenedetect_finds_the_known_cuts(joined, name, capsys):
    pytest.importorskip("scenedetect", reason="the optional extra colorgan[scenes] is absent")
    assert find_cuts(joined, detector=name) == [(c, pytest.approx(c / 25)) for c in CUTS]
    assert scenes_main([str(joined), "--detector", name]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"{c}\t{c / 25:.3f}" for c in CUTS]


def test_unknown_detector_is_named(capsys):
    with pytest.raises(ValueError, match="'pyscenedetect-magic'.*pyscenedetect-adaptive"):
        make_detector("pyscenedetect-magic")
    with pytest.raises(SystemExit):  # argparse: invalid choice
        scenes_main(["x.mp4", "--detector", "magic"])
    assert "invalid choice: 'magic'" in capsys.readouterr().err


def test_missing_extra_says_what_to_install(monkeypatch, joined, capsys):
    monkeypatch.setitem(sys.modules, "scenedetect", None)  # import fails as if not installed
    with pytest.raises(ValueError, match=r'pip install "colorgan\[scenes\]".*--detector colorgan'):
        make_detector("pyscenedetect-adaptive")
    assert scenes_main([str(joined), "--detector", "pyscenedetect-adaptive"]) == 1
    assert 'colorgan[scenes]' in capsys.readouterr().err


@pytest.mark.parametrize("detector", ["colorgan", "pyscenedetect-adaptive"])
def test_colorize_uses_the_chosen_detector(joined, ckpt, tmp_path, detector):  # noqa: F811
    """--scene-detector: PySceneDetect's first pass gives the film path its cuts."""
    if detector != "colorgan":
        pytest.importorskip("scenedetect", reason="the optional extra colorgan[scenes] is absent")
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    out = tmp_path / "joined_color.mp4"
    r = colorize_video(joined, out, c, temporal="smooth", progress=False,
                       scene_detector=detector)
    assert r.cuts == CUTS and probe(out).frames == probe(joined).frames


def test_colorize_without_the_extra_fails_before_writing(monkeypatch, joined, ckpt, tmp_path,  # noqa: F811
                                                         capsys):
    monkeypatch.setitem(sys.modules, "scenedetect", None)  # import fails as if not installed
    out = tmp_path / "out.mp4"
    assert colorize_main([str(joined), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                          "--scene-detector", "pyscenedetect-adaptive"]) == 1
    assert 'colorgan[scenes]' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a partial file
