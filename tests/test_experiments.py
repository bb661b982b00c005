"""The quality study's experiment configs compose and train on any folder of photos."""
from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from conftest import make_cfg
from PIL import Image

from colorgan.train import train

ROWS_SH = Path(__file__).resolve().parents[1] / "experiments" / "quality" / "rows.sh"
ROWS = dict(m.groups() for m in re.finditer(r'"(\w+)\|([^"]*)"', ROWS_SH.read_text()))

FAST = ["+trainer.fast_dev_run=true", "data.batch_size=4", "data.num_workers=0",
        "trainer.enable_progress_bar=false", "callbacks.model_summary=null",
        "model.classification.prior_images=8", "model.classification.cache_dir=null"]


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("buildings", "forest"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(6):
            arr = rng.integers(0, 255, (80, 96, 3)).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / "photos" / cls / f"{i}.jpg")
    return tmp_path / "photos"


@pytest.mark.parametrize("name", ["scenes64_pix2pix", "scenes64_best"])
def test_quality_experiments_train_on_a_folder(name, photos, tmp_path):
    cfg = make_cfg(tmp_path, [f"experiment={name}", f"data.root={photos}", *FAST])
    assert cfg.data.image_size == 64 and cfg.data.batch_size == 4
    assert cfg.model.netG.widths[0] == 32  # the same U-Net 64 in both
    best = name == "scenes64_best"
    assert not cfg.model.classification.enabled and cfg.model.rec_loss == "l1"
    assert cfg.model.adversarial == (not best)
    assert cfg.model.ema.enabled == cfg.model.tta_flip == best
    assert list(cfg.data.augment.crop_scale or [1.0, 1.0]) == ([0.4, 1.0] if best else [1.0, 1.0])
    assert cfg.model.rec_space == ("rgb" if best else "output")
    # best spends pix2pix's discriminator time on epochs; its cosine spans whatever epochs are set
    assert cfg.trainer.max_epochs == (50 if best else 30)
    _, objects = train(cfg)
    sched = objects["model"].lr_schedulers()
    assert (sched.T_max if best else sched) == (cfg.trainer.max_epochs if best else None)
    # the inference options travel in the checkpoint: colorize applies them by itself
    from colorgan.colorize.colorizer import Colorizer

    objects["trainer"].save_checkpoint(tmp_path / "last.ckpt")
    c = Colorizer.from_checkpoint(tmp_path / "last.ckpt", "cpu")
    # best: the gain calibrated during fitting (model.chroma_target), not the config's 1.0
    gain = objects["model"].predictor.chroma_gain
    assert (gain != 1.0) == best and cfg.model.chroma_target == (0.95 if best else None)
    assert (c.chroma_gain, c.chroma_center, c.flip) == ((gain, "image", True) if best
                                                         else (1.0, "zero", False))
    assert c.weights == ("ema" if best else "raw")


@pytest.fixture
def cifar_copy(tmp_path):
    """A class-per-folder CIFAR-10 copy in miniature: train/ and test/, two classes."""
    root = tmp_path / "cifar"
    rng = np.random.default_rng(0)
    for split, cls, i in product(("train", "test"), ("cat", "ship"), range(6)):
        (root / split / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)).save(
            root / split / cls / f"{i}.jpg")
    return root


def test_cifar_experiment_trains_every_recipe_row_at_32_px(cifar_copy, tmp_path):
    """experiment=cifar32_pix2pix (experiments/quality/cifar.sh) with the best row's overrides."""
    root = cifar_copy
    for row in ("pix2pix", "cls_reb08_ema", "guidance"):
        overrides = ROWS[row].split()
        cfg = make_cfg(tmp_path / row, ["experiment=cifar32_pix2pix", f"data.root={root}",
                                        *overrides, *FAST])
        assert cfg.data.image_size == 32 and len(cfg.model.netG.widths) == 6  # 32 px -> 1 px
        metrics, _ = train(cfg)
        assert "val/psnr" in metrics


def test_cifar_best_trains_a_class_guided_regression_model(cifar_copy, tmp_path):
    """experiment=cifar32_best: L1 without a discriminator, a guidance head over the folder
    classes trained with netG, and the calibrated vibrance carried by the checkpoint."""
    cfg = make_cfg(tmp_path, ["experiment=cifar32_best", f"data.root={cifar_copy}", *FAST])
    assert cfg.data.image_size == 32 and len(cfg.model.netG.widths) == 6  # as cifar32_pix2pix
    assert not cfg.model.adversarial and cfg.model.rec_space == "rgb"
    _, objects = train(cfg)
    model = objects["model"]
    assert model.guidance is not None and model.hparams.class_guidance["num_classes"] == 2
    head = {id(p) for p in model.guidance.parameters()}
    groups = model.generator_optimizer().optimizer.param_groups
    assert head <= {id(p) for g in groups for p in g["params"]}  # trained with netG
    assert model.lr_schedulers().T_max == cfg.trainer.max_epochs
    from colorgan.colorize.colorizer import Colorizer

    objects["trainer"].save_checkpoint(tmp_path / "last.ckpt")
    c = Colorizer.from_checkpoint(tmp_path / "last.ckpt", "cpu")
    gain = model.predictor.chroma_gain
    assert gain != 1.0 and (c.chroma_gain, c.chroma_center, c.flip) == (gain, "image", True)


def test_frontier_plot_draws_rows_temperature_and_gain_curves(tmp_path, monkeypatch, capsys):
    """experiments/quality/plot.py: one point per finished row, one line per temperature or
    chroma-gain curve; a curve folder without results is named in the error."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("quality_plot", ROWS_SH.parent / "plot.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    curve_points, plot = mod.curve_points, mod.plot

    model = lambda p, c: {"psnr": p, "ssim": 0.9, "colorfulness": c, "ciede2000": 10.0}
    for row, (p, c) in {"pix2pix": (23.4, 24.8), "best": (23.8, 27.3)}.items():
        (tmp_path / "table" / row).mkdir(parents=True)
        (tmp_path / "table" / row / "metrics.json").write_text(json.dumps(
            {"model": model(p, c), "gray_baseline": {"psnr": 26.6}, "colorfulness_gt": 34.3,
             "status": "ok"}))
    (tmp_path / "table" / "running").mkdir()  # no metrics.json yet: left out
    (tmp_path / "table" / "running" / ".hydra").mkdir()
    for t, (p, c) in {"1.0": (24.1, 19.6), "0.38": (23.8, 27.3)}.items():
        (tmp_path / "T" / f"T{t}").mkdir(parents=True)
        (tmp_path / "T" / f"T{t}" / "metrics.json").write_text(json.dumps({"model": model(p, c)}))
    assert curve_points(tmp_path / "T") == [("T 1", 19.6, 24.1), ("T 0.38", 27.3, 23.8)]
    for g, (p, c) in {"1.25": (22.9, 31.0), "0.75": (24.0, 18.6)}.items():  # chroma gains
        (tmp_path / "G" / f"G{g}").mkdir(parents=True)
        (tmp_path / "G" / f"G{g}" / "metrics.json").write_text(json.dumps({"model": model(p, c)}))
    assert curve_points(tmp_path / "G") == [("x0.75", 18.6, 24.0), ("x1.25", 31.0, 22.9)]
    out = tmp_path / "frontier.png"
    assert plot(tmp_path / "table", {"best": tmp_path / "T", "gain": tmp_path / "G"}, out) == 2
    assert Image.open(out).size[0] > 400
    with pytest.raises(FileNotFoundError, match="empty.*temperature.sh"):
        plot(tmp_path / "table", {"x": tmp_path / "empty"}, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    import sys  # the command line: a --curve without its folder is named

    argv = ["plot.py", str(tmp_path / "table"), "--curve", "best", "-o", str(tmp_path / "c.png")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        mod.main()
    assert "--curve 'best': write LABEL=FOLDER" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()
    # rows of other tables: LABEL=PSNR@COLORFULNESS, the label may hold '=' and '@'
    assert mod.parse_point("pix2pix (a=b)=22.64@32.51") == ("pix2pix (a=b)", 32.51, 22.64)
    assert plot(tmp_path / "table", {}, out, points=(("p2p", 32.5, 22.6),)) == 2
    for bad in ("22.6@32.5", "p2p=22.6", "p2p=x@32.5"):
        with pytest.raises(ValueError, match="write LABEL=PSNR@COLORFULNESS"):
            mod.parse_point(bad)
    monkeypatch.setattr(sys, "argv", [*argv[:2], "--point", "p2p=22.6", "-o", str(tmp_path / "c.png")])
    with pytest.raises(SystemExit):
        mod.main()
    assert "--point 'p2p=22.6'" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_gain_shapes_compares_every_shape_at_equal_colour_on_a_trained_run(tmp_path, capsys,
                                                                           monkeypatch):
    """experiments/quality/gain_shapes.py (table 10): interpolation at a colorfulness, the
    stretches' direction, and its table from a train.py run folder."""
    import importlib.util
    import sys

    import torch
    from conftest import TINY

    spec = importlib.util.spec_from_file_location("gain_shapes", ROWS_SH.parent / "gain_shapes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.at([(30.0, 24.0), (20.0, 25.0)], 25.0) == pytest.approx(24.5)
    assert mod.at([(20.0, 25.0), (30.0, 24.0)], 31.0) is None  # never extrapolated

    raw = torch.zeros(2, 2, 8, 8)
    raw[0, 0, :, :4], raw[1, 0, :, :4] = 0.2, 0.05  # photo 0 predicts 4x the colour of photo 1
    shapes = mod.shapes(raw, lambda ab: torch.cat([ab[:, :1] * 0 + 0.5, 0.5 + ab], 1).clamp(0, 1))
    assert set(shapes) >= {"uniform", "confident p=1", "equalising p=0.5", "per-pixel gamma=0.25"}
    dev = raw - raw.mean(dim=(-2, -1), keepdim=True)
    for name, variants in shapes.items():
        label, ab = variants[0]
        stretch = ((ab - raw.mean(dim=(-2, -1), keepdim=True))[:, 0, 0, 0] / dev[:, 0, 0, 0])
        if name.startswith("confident"):
            assert stretch[0] > stretch[1]  # the bolder prediction stretched more
        if name.startswith("equalising"):
            assert stretch[0] < stretch[1]
        if name == "uniform":
            assert stretch[0] == pytest.approx(stretch[1]) and label == "x1.4"

    with pytest.raises(SystemExit, match=r"config.yaml is missing.*finished train.py run"):
        mod.predictions(tmp_path / "not_a_run")
    cfg = make_cfg(tmp_path, [*TINY, "data.num_workers=0"])
    train(cfg)
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "config.yaml").is_file()
    monkeypatch.setattr(sys, "argv", ["gain_shapes.py", str(run), "--at", "0.5"])
    capsys.readouterr()  # train.py's own report
    mod.main()
    out = capsys.readouterr().out
    assert "8 validation photos" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "| shape" not in line]
    assert len(rows) == len(shapes) and rows[0].startswith("| uniform |")
    assert "out of range" in rows[0]  # a 1-epoch model never reaches half the truth's colour
    rgb_run = tmp_path / "rgb"
    train(make_cfg(rgb_run, [*TINY, "data.num_workers=0", "model.color_space=rgb"]))
    with pytest.raises(SystemExit, match="Lab models"):  # the stretches act on ab
        mod.predictions(rgb_run / "run")


def test_tta_table_calibrates_each_setting_and_reads_it_at_equal_colour(tmp_path, capsys,
                                                                        monkeypatch):
    """experiments/quality/tta.py (table 19): the bisection finds the gain of a colorfulness,
    and a train.py run gives one row per setting and reading."""
    import importlib.util

    import torch
    from conftest import TINY

    from colorgan.color import ColorSpace
    from colorgan.metrics import colorfulness

    spec = importlib.util.spec_from_file_location("quality_tta", ROWS_SH.parent / "tta.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    class Lab:
        cs = ColorSpace("lab")

    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(4, 3, 16, 16, generator=g) * 0.5 + 0.25
    real_A, real_B = Lab.cs.encode(rgb)
    raw = real_B * 0.4  # a dull model
    goal = float(colorfulness(mod.decode(Lab, raw, real_A, 2.0)).mean())
    assert mod.gain_for(Lab, raw, real_A, goal) == pytest.approx(2.0, abs=0.01)

    with pytest.raises(SystemExit, match=r"config.yaml is missing"):
        mod.main([str(tmp_path / "not_a_run")])
    train(make_cfg(tmp_path, [*TINY, "data.num_workers=0", "model.tta_flip=true"]))
    capsys.readouterr()
    assert mod.main([str(tmp_path / "run"), "--at", "0.5", "--at-colour", "3.0",
                     "--no-flip"]) == 0
    out = capsys.readouterr().out
    rows = [r.split(" | ") for r in out.splitlines() if r.startswith(("| flip", "| none"))]
    assert [(r[0], r[1]) for r in rows] == [
        (f"| {name}", read) for name in ("none", "flip")
        for read in ("val-calibrated 0.92x", "test colour 0.5x", "test colour 3.00")]
    assert all(float(r[5]) == pytest.approx(3.0, abs=0.05) for r in rows if r[1].endswith("3.00"))
    # the plain prediction is not the flip-averaged one: at the same colour, another PSNR
    psnr = {r[0]: float(r[3]) for r in rows if r[1] == "test colour 3.00"}
    assert psnr["| none"] != psnr["| flip"]


def test_ensemble_table_averages_runs_and_refuses_other_photos(tmp_path, capsys):
    """experiments/quality/ensemble.py (table 25): an ensemble of one run with itself reads as
    that run at every colour; runs scored on other photos, or a single run, are refused."""
    import importlib.util

    from conftest import TINY

    spec = importlib.util.spec_from_file_location("quality_ensemble",
                                                  ROWS_SH.parent / "ensemble.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    train(make_cfg(tmp_path / "a", [*TINY, "data.num_workers=0", "model.tta_flip=true"]))
    train(make_cfg(tmp_path / "b", [*TINY, "data.num_workers=0", "data.num_test=4"]))
    run = str(tmp_path / "a" / "run")
    capsys.readouterr()
    assert mod.main([run, run, "--at", "0.5", "--at-colour", "3.0"]) == 0
    rows = [r.split(" | ") for r in capsys.readouterr().out.splitlines() if r.startswith("| ")]
    assert rows[0][0] == "| model" and len(rows) == 4  # header, two runs, the ensemble
    assert rows[3][0] == "| ensemble of 2" and rows[3][1:] == rows[1][1:] == rows[2][1:]
    with pytest.raises(SystemExit, match="test photos differ"):
        mod.main([run, str(tmp_path / "b" / "run")])
    with pytest.raises(SystemExit):
        mod.main([run])
    assert "an ensemble needs two or more run folders" in capsys.readouterr().err
