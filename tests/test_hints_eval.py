"""Evaluation with simulated hints (eval.py hints.points / hints.reference): the same points
for every model and run, the classic baselines' rows under them, and the option checks."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY, make_cfg
from PIL import Image

from colorgan import cli
from colorgan.color import rgb_to_lab_norm, uint8_to_float
from colorgan.data.images import ImageFiles, load_rgb
from colorgan.eval import evaluate
from colorgan.hints.encode import palette
from colorgan.hints.evaluation import class_references
from colorgan.predictor import HINT_MIX
from colorgan.train import train
from colorgan.utils.config import ConfigError

KEYS = {"psnr", "ssim", "colorfulness", "delta_colorfulness", "ciede2000"}


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A tiny hint checkpoint and a tiny automatic one (synthetic scenes, one epoch each)."""
    out = {}
    # every training photo gets a palette, so the tiny model measurably reads one
    for name, extra in (("hints", ["model.hints.enabled=true", "model.hints.global_prob=1.0"]),
                        ("auto", [])):
        root = tmp_path_factory.mktemp(f"ckpt_{name}")
        train(make_cfg(root, [*TINY, "model=unet_mse", "callbacks.sample_grid=null", *extra]))
        out[name] = root / "run" / "checkpoints" / "last.ckpt"
    return out


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """Six smooth two-colour photos in two class folders (4 + 2), written by the test."""
    root = tmp_path_factory.mktemp("hint_photos")
    g = torch.Generator().manual_seed(5)
    ramp = torch.linspace(0.5, 1.0, 40)[None, :, None]  # (1, W, 1) lightness ramp
    for i in range(6):
        folder = root / ("coast" if i < 4 else "forest")
        folder.mkdir(exist_ok=True)
        left, right = torch.rand(3, generator=g), torch.rand(3, generator=g)
        img = torch.where(torch.arange(40)[None, :, None] < 20, left, right).expand(40, 40, 3)
        Image.fromarray((img * ramp * 255).to(torch.uint8).numpy()).save(folder / f"p{i}.png")
    return root


def run_eval(tmp_path: Path, ckpt: Path, photos: Path, *overrides: str) -> dict:
    payload, _ = evaluate(make_cfg(tmp_path, [
        f"ckpt_path={ckpt}", "data=folder", f"data.root={photos}", "data.num_workers=0",
        "data.batch_size=4", "num_samples=2", "trainer.enable_progress_bar=false", *overrides],
        config_name="eval.yaml"))
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["hints"] == payload["hints"]
    return saved


def test_hint_eval_records_points_reference_and_baseline_rows(tmp_path, checkpoints, photos):
    saved = run_eval(tmp_path, checkpoints["hints"], photos, "hints.points=5",
                     "hints.reference=self", "hints.seed=3")
    assert saved["hints"] == {"points": 5, "seed": 3, "reference": "self", "side": 3,
                              "model_uses_hints": True, "chroma_gain": 1.0, "mix": HINT_MIX}
    assert set(saved["model"]) == KEYS
    assert set(saved["hint_baselines"]) == {"levin", "nearest", "nearest_l"}
    for name, row in saved["hint_baselines"].items():
        assert set(row) == set(saved["model"]), name
        # the true colour of 5 patches of flat two-colour photos: far better than gray
        assert row["psnr"] > saved["gray_baseline"]["psnr"] + 1.0, name
        assert row["ciede2000"] < saved["gray_baseline"]["ciede2000"], name
    table = (tmp_path / "run" / "metrics.md").read_text()
    assert "5 simulated point(s) of 3x3 px per photo (hints.seed=3)" in table
    assert "| Levin et al. 2004 (same points) |" in table and "| nearest hint + L" in table
    assert "the photo's own palette" in table and "trained without hints" not in table


def test_points_are_the_same_for_every_model_and_run(tmp_path, checkpoints, photos):
    hint = [run_eval(tmp_path / f"h{i}", checkpoints["hints"], photos, "hints.points=4")
            for i in range(2)]
    auto = run_eval(tmp_path / "a", checkpoints["auto"], photos, "hints.points=4")
    assert hint[0]["model"] == hint[1]["model"]  # the same points, run after run
    assert hint[0]["hint_baselines"] == hint[1]["hint_baselines"] == auto["hint_baselines"]
    # an automatic checkpoint is a legitimate row: the automatic colorizer, said in the title
    assert auto["hints"]["model_uses_hints"] is False
    table = (tmp_path / "a" / "run" / "metrics.md").read_text()
    assert "trained without hints: its row is the automatic colorizer" in table
    assert "| model (automatic: trained without hints, it ignores them) |" in table
    plain = run_eval(tmp_path / "p", checkpoints["auto"], photos)
    assert plain["model"] == auto["model"]  # it does ignore them


def test_zero_points_is_the_plain_eval_and_points_steer(tmp_path, checkpoints, photos):
    plain = run_eval(tmp_path / "plain", checkpoints["hints"], photos)
    zero = run_eval(tmp_path / "zero", checkpoints["hints"], photos, "hints.points=0")
    assert zero["model"] == plain["model"] and zero["metrics"] == plain["metrics"]
    assert "hint_baselines" not in zero
    assert zero["hints"]["chroma_gain"] == plain["hints"]["chroma_gain"]  # automatic: its own gain
    ten = run_eval(tmp_path / "ten", checkpoints["hints"], photos, "hints.points=10")
    assert ten["model"]["psnr"] != plain["model"]["psnr"]  # the hint model reads the points


def test_class_reference_is_another_photo_of_the_same_folder(tmp_path, checkpoints, photos):
    files = sorted(photos.rglob("*.png"))
    refs, alone = class_references(files + [photos / "solo" / "s.png"], 32)
    assert alone == ["s.png"] and set(refs) == {f.name for f in files}
    coast = sorted((photos / "coast").glob("*.png"))
    want = palette(rgb_to_lab_norm(uint8_to_float(load_rgb(coast[1], 32))[None])[1])[0]
    assert torch.equal(refs[coast[0].name], want)  # the next photo by name, in its folder
    assert torch.equal(refs[coast[-1].name], palette(rgb_to_lab_norm(
        uint8_to_float(load_rgb(coast[0], 32))[None])[1])[0])  # cyclic
    saved = run_eval(tmp_path, checkpoints["hints"], photos, "hints.reference=class")
    assert saved["hints"]["reference"] == "class" and saved["hints"]["references_missing"] == 0
    own = run_eval(tmp_path / "own", checkpoints["hints"], photos, "hints.reference=self")
    assert own["model"] != saved["model"]
    assert "hint_baselines" not in saved  # no points: nothing for the fills to propagate


def test_bad_hint_options_are_named(tmp_path, checkpoints, photos):
    ckpt = checkpoints["hints"]
    with pytest.raises(ConfigError, match=r"hints.points=-1 must be an integer >= 0"):
        run_eval(tmp_path, ckpt, photos, "hints.points=-1")
    with pytest.raises(ConfigError, match=r"hints.reference='bogus' is not supported.*'class'"):
        run_eval(tmp_path, ckpt, photos, "hints.reference=bogus")
    for bad in ("2", "-0.5", "lots"):
        with pytest.raises(ConfigError, match=rf"hints.mix='?{bad}'?: must be a number in \[0, 1\]"):
            run_eval(tmp_path, ckpt, photos, "hints.points=2", f"hints.mix={bad}")
    with pytest.raises(ConfigError, match="hints.points=3 .*file name.*data=folder"):
        evaluate(make_cfg(tmp_path, [f"ckpt_path={ckpt}", "data.num_test=4", "hints.points=3",
                                     "trainer.enable_progress_bar=false"], config_name="eval.yaml"))
    assert not (tmp_path / "run" / "metrics.json").exists()  # nothing half-written
    assert cli.images_option(["--hints", "7", "a=1"]) == ["hints.points=7", "a=1"]
    with pytest.raises(SystemExit, match=r"--hints needs a number of points >= 0.*'x'"):
        cli.images_option(["--hints=x"])
    assert ImageFiles([next(photos.rglob("p0.png"))], 16)[0]["key"] == "p0.png"  # the file key


def test_colorgan_eval_hints_option(tmp_path, checkpoints, photos, monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the dispatcher rewrites sys.argv
    monkeypatch.chdir(tmp_path)
    assert cli.main(["eval", f"ckpt_path={checkpoints['hints']}", "--images", str(photos),
                     "--hints", "2", "data.num_workers=0", "trainer.enable_progress_bar=false",
                     f"paths.log_dir={tmp_path / 'cli'}"]) == 0
    (saved,) = (tmp_path / "cli").rglob("metrics.json")
    assert json.loads(saved.read_text())["hints"]["points"] == 2


def test_experiment_driver_writes_commands_tables_and_plot(tmp_path, checkpoints, photos, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments" / "hints"))
    import run as driver

    out = tmp_path / "hints"
    args = ["--best", str(checkpoints["auto"]), "--hints", str(checkpoints["hints"]),
            "--root", str(photos), "--out", str(out), "--points", "0", "2",
            "--ref-points", "0", "--best-points", "0", "--image-size", "32",
            "--test-fraction", "1.0", "--plot", str(tmp_path / "psnr.png")]
    assert driver.main(args) == 0
    text = capsys.readouterr().out
    commands = (out / "commands.txt").read_text().splitlines()
    assert len(commands) == 6 and all(c.startswith("python eval.py ckpt_path=") for c in commands)
    assert sum("hints.points=2 hints.mix=0" in c for c in commands) == 1  # the network alone
    assert commands[0].endswith("hints.points=0 hints.reference=none hints.baselines=true "
                                f"hydra.run.dir={out}/hints/p0")  # the headline rows first
    assert sum("hints.points=2 hints.reference=none hints.baselines=true" in c
               for c in commands) == 1
    assert "| PSNR (dB) | 0 pts | 2 pts |" in text and "| Levin et al. 2004 |" in text
    assert "| scenes64_hints, the network alone (hints.mix=0) |" in text
    assert "| the photo's own palette |" in text and "- own palette only >= gray + 2.5 dB" in text
    assert "- 0 points within 0.3 dB of scenes64_best" in text
    with Image.open(tmp_path / "psnr.png") as im:
        assert im.format == "PNG"
    assert driver.main(args) == 0  # a rerun finds every row done and only writes the tables
    assert len((out / "commands.txt").read_text().splitlines()) == 6
