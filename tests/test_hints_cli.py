"""User hints (colorgan.hints.user) and `colorgan colorize --hints/--reference`, on a tiny hint
checkpoint trained once per session (docs/hints.md)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, make_cfg
from PIL import Image
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: F401

from colorgan.color import rgb_to_lab_norm
from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.photos import colorize_banded
from colorgan.data.synthetic import render_scene
from colorgan.hints.encode import palette_dim
from colorgan.hints.user import (
    MAX_POINTS,
    HintError,
    Point,
    hint_planes,
    hints_json,
    load_hints,
    parse_hints,
    reference_palette,
)

RED = "#ff0000"
# enough steps for a 32 px U-Net to learn that a point's colour goes where the point is
HINT_RECIPE = ["model=unet_mse", "model.rec_loss=l1", "model.optimizer_G.lr=0.003",
               "data.num_train=64", "data.batch_size=8", "data.num_val=4",
               "trainer.max_epochs=10", "callbacks.sample_grid=null", "model.hints.enabled=true",
               "model.hints.empty_share=0.0", "model.hints.max_patch=8",
               "model.hints.global_prob=0.5"]


@pytest.fixture(scope="session")
def hint_ckpt(tmp_path_factory) -> Path:
    from colorgan.train import train

    out = tmp_path_factory.getbasetemp() / "ckpts" / "user_hints"
    train(make_cfg(out, TINY + HINT_RECIPE))
    path = Path(json.loads((out / "run" / "metrics.json").read_text())["last_checkpoint"])
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def colorizer(hint_ckpt) -> Colorizer:
    return Colorizer.from_checkpoint(hint_ckpt, "cpu")


def gray_photo(path: Path, h: int = 96, w: int = 144, seed: int = 5) -> Path:
    g = render_scene(h, seed, w).mean(0).numpy()  # (H, W) in [0, 1]
    Image.fromarray((g * 255).round().astype(np.uint8)).save(path)
    return path


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def a_channel(png: Path) -> torch.Tensor:
    rgb = torch.from_numpy(np.array(Image.open(png).convert("RGB"))).permute(2, 0, 1)
    return rgb_to_lab_norm(rgb[None].float() / 255)[1][0, 0] * 110  # (H, W) Lab a


def test_points_in_pixels_fractions_and_radius():
    pts = parse_hints([{"x": 3, "y": 4.5, "color": RED},
                       {"fx": 1, "fy": 0, "color": "#00FF10", "radius": 8}], "h.json", 64, 32)
    assert pts == [Point(3.0, 4.5, (255, 0, 0)), Point(63.0, 0.0, (0, 255, 16), 8.0)]
    assert parse_hints(hints_json(pts), "h.json", 64, 32) == pts  # the web page's download
    planes = hint_planes(pts, (32, 64), (16, 32))  # the generator at half the size
    assert planes.shape == (1, 3, 16, 32)
    assert planes[0, 2, 2, 1] == 1 and planes[0, 2, :, :8].sum() == 1  # a point: one pixel
    disc = planes[0, 2, :, 16:]  # radius 8 px of the photo = 4 generator pixels
    assert 8 <= disc.sum() <= 16 and disc[0, -1] == 1 and disc[5:].sum() == 0  # a quarter disc
    red = rgb_to_lab_norm(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1))[1].flatten()
    assert torch.allclose(planes[0, :2, 2, 1], red)  # the colour's ab, through colorgan.color
    # a wide radius on a tiny grid still covers the point's own pixel
    one = hint_planes([Point(0, 0, (0, 0, 255), 0.1)], (1000, 1000), (4, 4))
    assert one[0, 2].sum() == 1 and one[0, 2, 0, 0] == 1


OK = {"x": 1, "y": 2, "color": RED}


@pytest.mark.parametrize("data,message", [
    ({"points": []}, r"hints.json: is not a list of points"),
    ([OK, 7], r"hints.json, point 2: 7 is not an object"),
    ([{"x": 1, "y": 2}], r"point 1: \"color\" is missing"),
    ([OK, OK, {**OK, "color": "#12345"}], r"hints.json, point 3: \"color\": \"#12345\" is not #rrggbb"),
    ([{**OK, "color": "red"}], r"\"color\": \"red\" is not #rrggbb"),
    ([{**OK, "size": 3}], r"point 1: unknown field\(s\) \['size'\]"),
    ([{"x": 1, "fy": 0.5, "color": RED}], r"point 1: give its position as \"x\" and \"y\""),
    ([{"y": 1, "color": RED}], r"give its position"),
    ([{**OK, "x": "10"}], r"point 1: \"x\": \"10\" is not a number"),
    ([{**OK, "y": True}], r"\"y\": true is not a number"),
    ([{**OK, "x": 40}], r"point 1: \"x\": 40, \"y\": 2 is outside the 40 x 30 image"),
    ([{**OK, "y": -1}], r"outside the 40 x 30 image"),
    ([{"fx": 1.2, "fy": 0, "color": RED}], r"\"fx\": 1.2, \"fy\": 0 is outside the image"),
    ([{**OK, "radius": -2}], r"point 1: \"radius\": -2 is negative"),
    ([OK] * (MAX_POINTS + 1), rf"{MAX_POINTS + 1} points; at most {MAX_POINTS}"),
])
def test_every_bad_entry_is_named_with_its_file_and_index(data, message):
    with pytest.raises(HintError, match=message):
        parse_hints(data, "hints.json", 40, 30)


def test_files_that_are_not_json_or_unreadable(tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text('[{"x": 1, "y": 2, "color": "#ff0000"')
    with pytest.raises(HintError, match=r"h.json: is not JSON \(.* line 1"):
        load_hints(bad, 10, 10)
    with pytest.raises(HintError, match=r"missing.json: cannot be read"):
        load_hints(tmp_path / "missing.json", 10, 10)
    assert load_hints(write_json(bad, [OK]), 10, 10) == [Point(1.0, 2.0, (255, 0, 0))]


def test_reference_palette_and_a_gray_reference():
    red = torch.zeros(3, 300, 500)
    red[0], red[1] = 0.85, 0.2  # larger than the palette's copy: reduced first
    pal = reference_palette(red, "ref.jpg")
    assert pal.shape == (1, palette_dim()) and pal[0, -1] == 1
    gray = torch.full((3, 20, 20), 0.4, dtype=torch.float32)
    with pytest.raises(HintError, match=r"--reference gray.png: is black and white"):
        reference_palette(gray, "--reference gray.png")


def test_hint_checkpoint_without_hints_is_the_automatic_colorizer(colorizer):
    c = colorizer
    assert c.supports_hints
    frames = torch.from_numpy(scene_frames(1, 3, 48, 64)[0]).permute(2, 0, 1)[None]
    auto = c.colorize(frames)
    assert torch.equal(auto, c.colorize(frames, hints=[]))
    steered = c.colorize(frames, [Point(30, 20, (255, 0, 0), 6)])
    assert not torch.equal(auto, steered)
    # the chroma gain is the automatic mode's knob: with a hint or a reference, gain 1
    try:
        c.set_chroma_gain(0.0)
        ab = lambda x: rgb_to_lab_norm(x.float() / 255)[1].abs().mean() * 110  # noqa: E731
        assert ab(c.colorize(frames)) < 1.0  # gain 0: gray
        assert ab(c.colorize(frames, [Point(30, 20, (255, 0, 0), 6)])) > 5.0
        pal = reference_palette(torch.rand(3, 16, 16), "ref")
        assert ab(c.colorize(frames, palette=pal)) > 5.0
    finally:
        c.set_chroma_gain(1.0)
    # a large photo's banded path gets the same hints (here: bands of 10 rows)
    points = [Point(30, 20, (255, 0, 0), 6)]
    banded = colorize_banded(frames[0], c, 640, points)
    assert (banded.int() - steered[0].int()).abs().max() <= 2


def test_cli_red_point_moves_colour_toward_red_near_it(hint_ckpt, tmp_path):
    photo = gray_photo(tmp_path / "p.png")  # 96 x 144; the generator runs at 32 x 48
    hints = write_json(tmp_path / "h.json", [{"x": 40, "y": 60, "color": RED, "radius": 12}])
    assert colorize_main([str(photo), "-o", str(tmp_path / "auto.png"), "--ckpt",
                          str(hint_ckpt), "--no-progress"]) == 0
    assert colorize_main([str(photo), "-o", str(tmp_path / "red.png"), "--ckpt", str(hint_ckpt),
                          "--hints", str(hints), "--no-progress"]) == 0
    assert Image.open(tmp_path / "red.png").size == (144, 96)  # full size
    shift = a_channel(tmp_path / "red.png") - a_channel(tmp_path / "auto.png")  # (H, W)
    near, far = shift[52:69, 32:49].mean(), shift[:, 100:].mean()
    assert near > 4.0 and near > far + 4.0, (near, far)


def test_folder_sidecars_and_their_errors(hint_ckpt, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    gray_photo(src / "a.png", 48, 64, seed=1)
    gray_photo(src / "b.png", 48, 64, seed=2)
    args = ["--ckpt", str(hint_ckpt), "--no-progress"]
    assert colorize_main([str(src), "-o", str(tmp_path / "auto")] + args) == 0
    write_json(src / "a.hints.json", [{"fx": 0.5, "fy": 0.5, "color": RED, "radius": 8}])
    assert colorize_main([str(src), "-o", str(tmp_path / "hinted")] + args) == 0
    assert np.array_equal(np.array(Image.open(tmp_path / "hinted" / "b.png")),
                          np.array(Image.open(tmp_path / "auto" / "b.png")))  # no sidecar
    shift = a_channel(tmp_path / "hinted" / "a.png") - a_channel(tmp_path / "auto" / "a.png")
    assert shift[20:28, 28:36].mean() > 4.0
    assert sorted(p.name for p in (tmp_path / "hinted").iterdir()) == ["a.png", "b.png"]
    # --hints is for one photo; a bad sidecar stops the folder before anything is written
    assert colorize_main([str(src), "-o", str(tmp_path / "x"), "--hints",
                          str(src / "a.hints.json")] + args) == 1
    assert "is for one photo" in capsys.readouterr().err
    write_json(src / "b.hints.json", [{"x": 1, "y": 1, "color": "#12345"}])
    assert colorize_main([str(src), "-o", str(tmp_path / "bad")] + args) == 1
    err = capsys.readouterr().err
    assert "b.hints.json, point 1: \"color\": \"#12345\" is not #rrggbb" in err
    assert not (tmp_path / "bad").exists()
    # a sidecar out of its photo's bounds: that photo is skipped, named, and not written
    write_json(src / "b.hints.json", [{"x": 64, "y": 1, "color": RED}])
    assert colorize_main([str(src), "-o", str(tmp_path / "skip")] + args) == 1
    assert "b.hints.json, point 1: \"x\": 64, \"y\": 1 is outside" in capsys.readouterr().err
    assert (tmp_path / "skip" / "a.png").is_file() and not (tmp_path / "skip" / "b.png").exists()


def test_bad_hints_for_a_photo_write_nothing(hint_ckpt, tmp_path, capsys):
    photo = gray_photo(tmp_path / "p.png", 48, 64)
    out = tmp_path / "out.png"
    for data, message in [([{"x": 70, "y": 1, "color": RED}], "is outside the 64 x 48 image"),
                          ([{"x": 1, "y": 1, "color": RED, "radius": -1}], "is negative")]:
        bad = write_json(tmp_path / "bad.json", data)
        assert colorize_main([str(photo), "-o", str(out), "--ckpt", str(hint_ckpt),
                              "--hints", str(bad)]) == 1
        err = capsys.readouterr().err
        assert f"{bad}, point 1:" in err and message in err
        assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == \
            ["bad.json", "p.png"]  # no output, no temporary file


def test_reference_changes_the_output_and_a_gray_one_is_refused(hint_ckpt, tmp_path, capsys):
    photo = gray_photo(tmp_path / "p.png", 48, 64)
    ref = np.zeros((300, 200, 3), np.uint8)
    ref[..., 0], ref[..., 2] = 40, 200  # blue, any size
    Image.fromarray(ref).save(tmp_path / "ref.jpg")
    args = ["--ckpt", str(hint_ckpt), "--no-progress"]
    assert colorize_main([str(photo), "-o", str(tmp_path / "auto.png")] + args) == 0
    assert colorize_main([str(photo), "-o", str(tmp_path / "ref.png"), "--reference",
                          str(tmp_path / "ref.jpg")] + args) == 0
    assert not np.array_equal(np.array(Image.open(tmp_path / "ref.png")),
                              np.array(Image.open(tmp_path / "auto.png")))
    Image.fromarray(ref[..., 2]).save(tmp_path / "gray.png")  # black and white
    assert colorize_main([str(photo), "-o", str(tmp_path / "g.png"), "--reference",
                          str(tmp_path / "gray.png")] + args) == 1
    assert f"--reference {tmp_path / 'gray.png'}: is black and white" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_exported_hint_model_takes_points_and_a_reference_as_the_checkpoint(hint_ckpt, tmp_path):
    pytest.importorskip("onnxruntime")
    from colorgan.colorize.export import export_onnx

    meta = export_onnx(hint_ckpt, tmp_path / "h.onnx")
    assert meta["hints"] is True and meta["input_channels"] == 1 + 3 + palette_dim()
    photo = gray_photo(tmp_path / "p.png", 48, 64)
    hints = write_json(tmp_path / "h.json", [{"x": 20, "y": 24, "color": RED, "radius": 6}])
    ref = np.zeros((40, 30, 3), np.uint8)
    ref[..., 2] = 200
    Image.fromarray(ref).save(tmp_path / "ref.png")
    steer = ["--hints", str(hints), "--reference", str(tmp_path / "ref.png"), "--no-progress"]
    for name, model in (("t", ["--ckpt", str(hint_ckpt)]),
                        ("o", ["--backend", "onnx", "--model", str(tmp_path / "h.onnx")])):
        assert colorize_main([str(photo), "-o", str(tmp_path / f"{name}.png"), *model,
                              *steer]) == 0
    t, o = (np.asarray(Image.open(tmp_path / f"{n}.png"), dtype=int) for n in "to")
    assert np.abs(t - o).max() <= 1  # within 1/255
    assert a_channel(tmp_path / "o.png")[18:30, 14:26].mean() > 5  # the red point is there


def test_checkpoint_without_hints_refuses_flags_and_ignores_sidecars(ckpt, tmp_path, capsys):  # noqa: F811
    photo = gray_photo(tmp_path / "p.png", 48, 64)
    hints = write_json(tmp_path / "h.json", [OK])
    out = tmp_path / "out.png"
    assert colorize_main([str(photo), "-o", str(out), "--ckpt", str(ckpt), "--hints",
                          str(hints)]) == 1
    err = capsys.readouterr().err
    assert f"--hints {hints}: --ckpt {ckpt} was trained without hints" in err
    assert not out.exists()
    write_json(tmp_path / "p.hints.json", [OK])  # a sidecar: ignored, with one warning
    with pytest.warns(UserWarning, match=r"1 hints file\(s\) .*p.hints.json.* are ignored"):
        assert colorize_main([str(photo), "-o", str(out), "--ckpt", str(ckpt)]) == 0
    assert out.is_file()


def test_films_refuse_points_and_take_a_palette_or_reference_frames(hint_ckpt, tmp_path, capsys):
    video = make_video(tmp_path / "v.mp4", scene_frames(4, 1, 48, 64))
    args = [str(video), "-o", str(tmp_path / "out.mp4"), "--ckpt", str(hint_ckpt),
            "--no-progress"]
    hints = write_json(tmp_path / "h.json", [OK])
    assert colorize_main(args + ["--hints", str(hints)]) == 1
    assert f"--hints {hints}: points are for photos" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()
    assert colorize_main(args + ["--hint-mix", "0.1"]) == 1
    assert "--hint-mix 0.1: mixes a photo's colour" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()
    assert colorize_main(args) == 0 and (tmp_path / "out.mp4").stat().st_size > 0
    red = tmp_path / "red.png"  # a palette steers every frame of the film
    Image.fromarray(np.tile(np.array([200, 30, 30], np.uint8), (32, 32, 1))).save(red)
    assert colorize_main(args + ["--overwrite", "--reference", str(red)]) == 0
    refs = tmp_path / "refs"  # a reference frame, the carried colour filled by the generator
    refs.mkdir()
    Image.fromarray(scene_frames(4, 1, 48, 64)[1]).save(refs / "000001.png")
    assert colorize_main(args + ["--overwrite", "--reference-frames", str(refs),
                                 "--carry-fill"]) == 0
    assert "1 reference frames" in capsys.readouterr().out


def test_hint_mix_moves_toward_the_points_fill_and_bad_values_are_named(hint_ckpt, ckpt,  # noqa: F811
                                                                       tmp_path, capsys):
    photo = gray_photo(tmp_path / "p.png", 48, 64)
    hints = write_json(tmp_path / "h.json", [{"x": 20, "y": 24, "color": "#20a040", "radius": 4}])
    base = [str(photo), "--ckpt", str(hint_ckpt), "--hints", str(hints), "--no-progress"]
    for name, value in (("model", "0"), ("levin", "1")):
        assert colorize_main([base[0], "-o", str(tmp_path / f"{name}.png"), *base[1:],
                              "--hint-mix", value]) == 0
    assert colorize_main([base[0], "-o", str(tmp_path / "default.png"), *base[1:]]) == 0
    px = {n: np.asarray(Image.open(tmp_path / f"{n}.png"), dtype=float)
          for n in ("model", "levin", "default")}
    assert np.abs(px["model"] - px["levin"]).max() > 5  # the two colourings differ
    between = np.abs(px["default"] - px["model"]) + np.abs(px["default"] - px["levin"])
    assert (between <= np.abs(px["model"] - px["levin"]) + 2).all()  # the default lies between
    out = tmp_path / "bad.png"
    for value in ("-1", "x", "2"):
        assert colorize_main([base[0], "-o", str(out), *base[1:], "--hint-mix", value]) == 1
        assert f"--hint-mix {value}: must be a number in [0, 1]" in capsys.readouterr().err
        assert not out.exists()
    assert colorize_main([str(photo), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                          "--hint-mix", "0.5"]) == 1
    assert "--hint-mix 0.5: " in capsys.readouterr().err and not out.exists()


def _lab_ab(png: Path) -> np.ndarray:
    rgb = torch.from_numpy(np.asarray(Image.open(png).convert("RGB")).copy()).permute(2, 0, 1)
    return (rgb_to_lab_norm(rgb[None].float() / 255)[1][0] * 110).permute(1, 2, 0).numpy()


def test_two_points_on_a_real_photo_colour_around_them_and_not_far_away(tmp_path_factory,
                                                                         tmp_path):
    """The web page's check (test_app_browser), on the command line, which gives the page's
    image: green points turn their surroundings green; far away hardly anything moves."""
    from conftest import shared_data
    from test_app_helpers import hint_checkpoint

    photo = shared_data("images/scenes/buildings/0.jpg")
    model = hint_checkpoint(tmp_path_factory.getbasetemp() / "hint_ckpts", photo.parents[1])
    targets = [(40, 45), (105, 100)]
    hints = write_json(tmp_path / "h.json", [{"x": x, "y": y, "color": "#00c000", "radius": 8}
                                             for x, y in targets])
    base = [str(photo), "--ckpt", str(model), "--no-progress"]
    assert colorize_main([base[0], "-o", str(tmp_path / "auto.png"), *base[1:]]) == 0
    assert colorize_main([base[0], "-o", str(tmp_path / "pts.png"), *base[1:],
                          "--hints", str(hints)]) == 0
    before, after = _lab_ab(tmp_path / "auto.png"), _lab_ab(tmp_path / "pts.png")
    target = _lab_ab_of((0, 192, 0))
    yy, xx = np.mgrid[0:before.shape[0], 0:before.shape[1]]
    dist = np.min([np.hypot(xx - x, yy - y) for x, y in targets], axis=0)
    near, far = dist <= 4, dist >= 50
    gap = {k: np.linalg.norm(v - target, axis=-1)[near].mean()
           for k, v in (("before", before), ("after", after))}
    moved = np.linalg.norm(after - before, axis=-1)
    assert gap["after"] < 0.85 * gap["before"], gap
    assert moved[far].mean() < 0.1 * moved[near].mean(), (moved[far].mean(), moved[near].mean())


def _lab_ab_of(rgb: tuple[int, int, int]) -> np.ndarray:
    x = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255
    return (rgb_to_lab_norm(x)[1][0, :, 0, 0] * 110).numpy()
