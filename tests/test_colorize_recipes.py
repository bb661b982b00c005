"""Checkpoints trained with the recipe switches, used by colorize, eval and the web page:
EMA weights are the ones loaded, --temperature changes a classification model's colour,
--flip averages with the mirrored prediction, and a temperature on a plain model is refused."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_video_helpers import ckpt, ckpt_classify, ckpt_dependent  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer


def _photo(path, seed=0, size=(48, 40)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    img = ((xx * 5 + yy * 3 + rng.integers(0, 40, xx.shape)) % 256).astype(np.uint8)
    Image.fromarray(img, "L").save(path)
    return path


def test_ema_weights_are_loaded_and_the_temperature_applies(ckpt_classify, tmp_path):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt_classify, "cpu")
    assert c.weights == "ema" and c.supports_temperature
    state = torch.load(ckpt_classify, map_location="cpu", weights_only=True)["state_dict"]
    ema = {k[len("netG_ema.module."):]: v for k, v in state.items()
           if k.startswith("netG_ema.module.")}
    raw = {k[len("netG."):]: v for k, v in state.items() if k.startswith("netG.")}
    loaded = c.netG.state_dict()
    name = next(k for k in ema if k.endswith("weight") and not torch.equal(ema[k], raw[k]))
    assert torch.equal(loaded[name], ema[name])  # the EMA weights, not the raw ones
    gray = torch.from_numpy(np.asarray(Image.open(_photo(tmp_path / "p.png"))))  # (H, W)
    x = gray.expand(3, -1, -1)[None].contiguous()  # (1, 3, H, W) uint8
    dull, vivid = c.with_temperature(1.0).colorize(x), c.with_temperature(0.05).colorize(x)
    assert c.netG.temperature == pytest.approx(0.38)  # copies do not change the shared model
    assert not torch.equal(dull, vivid)
    with pytest.raises(ValueError, match="> 0"):
        c.with_temperature(0.0)


def test_cli_temperature_changes_the_colour_and_is_refused_on_a_plain_model(
        ckpt, ckpt_classify, tmp_path, capsys):  # noqa: F811
    src = _photo(tmp_path / "in.png")
    outs = []
    for t in ("1.0", "0.05"):
        out = tmp_path / f"out_{t}.png"
        assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt_classify),
                              "--temperature", t, "--no-progress"]) == 0
        outs.append(np.asarray(Image.open(out)).astype(int))
    assert outs[0].shape == (40, 48, 3) and np.abs(outs[0] - outs[1]).max() > 0
    assert colorize_main([str(src), "-o", str(tmp_path / "x.png"), "--ckpt", str(ckpt),
                          "--temperature", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "--temperature 0.5" in err and "model.classification.enabled=true" in err
    assert not (tmp_path / "x.png").exists()


def test_flip_makes_the_result_mirror_symmetric(ckpt, tmp_path):  # noqa: F811
    src = _photo(tmp_path / "in.png", seed=3)
    mirrored = tmp_path / "mirror.png"
    Image.open(src).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    outs = []
    for name, path in (("a", src), ("b", mirrored)):
        out = tmp_path / f"{name}.png"
        assert colorize_main([str(path), "-o", str(out), "--ckpt", str(ckpt), "--flip",
                              "--no-progress"]) == 0
        outs.append(np.asarray(Image.open(out)).astype(int))
    assert np.abs(outs[0] - outs[1][:, ::-1]).max() <= 1  # f(flip x) = flip f(x)


def _saturation(img: np.ndarray) -> float:
    return float((img.max(-1) - img.min(-1)).mean())  # mean channel spread: 0 for gray


def test_cli_chroma_gain_scales_the_colour_of_any_model(  # noqa: F811
        ckpt, ckpt_classify, tmp_path, capsys):  # noqa: F811
    src = _photo(tmp_path / "in.png", seed=5)
    for i, model in enumerate((ckpt, ckpt_classify)):
        sat = {}
        for gain in ("0", "1", "3"):
            out = tmp_path / f"model{i}_{gain}.png"
            assert colorize_main([str(src), "-o", str(out), "--ckpt", str(model),
                                  "--chroma-gain", gain, "--no-progress"]) == 0
            sat[gain] = _saturation(np.asarray(Image.open(out)).astype(int))
        assert sat["0"] <= 1.5  # gain 0: gray (channels equal up to rounding)
        assert sat["3"] > sat["1"] > sat["0"]
    assert colorize_main([str(src), "-o", str(tmp_path / "x.png"), "--ckpt", str(ckpt),
                          "--chroma-gain", "-1"]) == 1
    assert "--chroma-gain=-1" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_dependent_mode_feeds_back_the_models_own_colour(ckpt_dependent):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt_dependent, "cpu")
    real_A = torch.rand(1, 1, 32, 32) * 2 - 1
    prev = c.predict_ab(real_A)
    plain = c.predict_ab(real_A, prev)
    c.chroma_gain = 2.0
    gained = c.predict_ab(real_A, c.predict_ab(real_A))  # the gained previous frame
    torch.testing.assert_close(gained, (2 * plain).clamp(-1, 1), atol=1e-5, rtol=1e-4)


def test_dependent_mode_feeds_back_the_ungained_colour_with_an_image_centre(
        ckpt_dependent):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt_dependent, "cpu")
    assert c.chroma_center == "zero"  # checkpoints without the option: about gray
    real_A = torch.rand(1, 1, 32, 32) * 2 - 1
    plain = c.predict_ab(real_A, c.predict_ab(real_A))
    c.chroma_gain, c.chroma_center = 1.5, "image"
    gained = c.predict_ab(real_A, c.predict_ab(real_A))
    mean = plain.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(gained, (mean + 1.5 * (plain - mean)).clamp(-1, 1), atol=1e-4,
                               rtol=1e-3)


def test_cli_chroma_center_image_keeps_the_photos_mean_colour(ckpt, tmp_path, capsys):  # noqa: F811
    from colorgan.color import rgb_to_lab_norm

    src = _photo(tmp_path / "in.png", seed=6)
    ab = {}
    for center in ("zero", "image"):
        out = tmp_path / f"{center}.png"
        assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--chroma-gain", "0",
                              "--chroma-center", center, "--no-progress"]) == 0
        rgb = torch.from_numpy(np.asarray(Image.open(out)).copy()).permute(2, 0, 1)[None] / 255.0
        ab[center] = rgb_to_lab_norm(rgb)[1]  # (1, 2, H, W)
    own = tmp_path / "own.png"
    assert colorize_main([str(src), "-o", str(own), "--ckpt", str(ckpt), "--no-progress"]) == 0
    rgb = torch.from_numpy(np.asarray(Image.open(own)).copy()).permute(2, 0, 1)[None] / 255.0
    own_mean = rgb_to_lab_norm(rgb)[1].mean(dim=(2, 3))
    assert ab["zero"].abs().max() < 0.02  # gain 0 about gray: gray
    assert ab["image"].std(dim=(2, 3)).max() < 0.03  # about the mean: one flat tint ...
    assert (ab["image"].mean(dim=(2, 3)) - own_mean).abs().max() < 0.02  # ... the photo's own
    with pytest.raises(SystemExit) as e:  # argparse refuses the choice, naming the option
        colorize_main([str(src), "-o", str(tmp_path / "x.png"), "--ckpt", str(ckpt),
                       "--chroma-center", "mean"])
    assert e.value.code == 2
    assert "--chroma-center" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_eval_temperature_traces_a_curve_and_is_refused_on_a_plain_model(
        ckpt, ckpt_classify, tmp_path):  # noqa: F811
    from conftest import make_cfg

    from colorgan.eval import evaluate

    def run(path, ckpt_path, *extra):
        return evaluate(make_cfg(path, [f"ckpt_path={ckpt_path}", "split=val", "data.num_val=8",
                                        "trainer.enable_progress_bar=false", *extra],
                                 config_name="eval.yaml"))[0]

    dull = run(tmp_path / "t1", ckpt_classify, "temperature=1.0")["model"]
    vivid = run(tmp_path / "t2", ckpt_classify, "temperature=0.05")["model"]
    # one checkpoint, two temperatures: two different points of the PSNR-colorfulness curve
    assert vivid["colorfulness"] != pytest.approx(dull["colorfulness"], rel=1e-4)
    assert vivid["psnr"] != pytest.approx(dull["psnr"], rel=1e-5)
    with pytest.raises(ValueError, match="temperature 0.5: this model predicts colour directly"):
        run(tmp_path / "t3", ckpt, "temperature=0.5")


def test_eval_chroma_gain_moves_along_the_colorfulness_axis(ckpt, tmp_path):  # noqa: F811
    from conftest import make_cfg

    from colorgan.eval import evaluate

    def run(path, *extra):
        return evaluate(make_cfg(path, [f"ckpt_path={ckpt}", "split=val", "data.num_val=8",
                                        "trainer.enable_progress_bar=false", *extra],
                                 config_name="eval.yaml"))[0]

    own, gray = run(tmp_path / "g1")["model"], run(tmp_path / "g0", "chroma_gain=0")
    doubled = run(tmp_path / "g2", "chroma_gain=2")["model"]
    assert gray["model"]["colorfulness"] < 0.5
    assert gray["model"]["psnr"] == pytest.approx(gray["gray_baseline"]["psnr"], abs=0.05)
    assert doubled["colorfulness"] > own["colorfulness"] > gray["model"]["colorfulness"]
    with pytest.raises(ValueError, match="chroma_gain=-1"):
        run(tmp_path / "bad", "chroma_gain=-1")
    centred = run(tmp_path / "c2", "chroma_gain=2", "chroma_center=image")["model"]
    assert centred["colorfulness"] != pytest.approx(doubled["colorfulness"], rel=1e-4)
    with pytest.raises(ValueError, match="chroma_center='mean': choose one of"):
        run(tmp_path / "badc", "chroma_center=mean")


def test_bad_chroma_gain_in_the_training_config_names_the_option(tmp_path):
    from conftest import TINY, make_cfg

    from colorgan.train import train
    from colorgan.utils.config import ConfigError

    # refused when the config is composed (colorgan/utils/options.py), before any building
    with pytest.raises(ConfigError, match=r"model.chroma_gain=-1: expects a value >= 0"):
        train(make_cfg(tmp_path, [*TINY, "model.chroma_gain=-1"]))
    assert not list((tmp_path / "run").glob("checkpoints/*"))  # nothing trained or written
    with pytest.raises(ConfigError, match=r"model.chroma_center='gray': expects one of zero, "):
        train(make_cfg(tmp_path, [*TINY, "model.chroma_center=gray"]))
