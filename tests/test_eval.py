"""Evaluation of a checkpoint: same numbers as the training's final validation, outputs,
and errors that name the option."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY, make_cfg
from PIL import Image

from colorgan import cli
from colorgan.eval import evaluate
from colorgan.train import train
from colorgan.utils.config import ConfigError


def _eval_cfg(tmp_path: Path, *overrides: str):
    return make_cfg(tmp_path, ["data.batch_size=4", "data.num_val=8", "data.num_test=8",
                               "trainer.enable_progress_bar=false", "num_samples=3",
                               *overrides], config_name="eval.yaml")


def test_eval_reproduces_final_validation_and_writes_outputs(tmp_path: Path) -> None:
    # 2 epochs, and a monitored metric that cannot improve after the first (the ground truth's
    # colorfulness): Lightning 2.6 then leaves last.ckpt at epoch 0 unless train() saves it
    tcfg = make_cfg(tmp_path / "train", [*TINY, "trainer.max_epochs=2", "callbacks.sample_grid=null",
                                         "callbacks.model_checkpoint.monitor=val/colorfulness_gt"])
    train_metrics, objects = train(tcfg)
    trained = json.loads((tmp_path / "train" / "run" / "metrics.json").read_text())
    ckpt = trained["last_checkpoint"]
    assert ckpt and Path(ckpt).is_file()
    assert torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"] == \
        objects["trainer"].global_step  # the final weights

    # split=val: exactly the numbers of train.py's final validation (on last.ckpt's weights);
    # data.image_size is not given: it comes from the checkpoint (32, not synthetic's 64)
    val, _ = evaluate(_eval_cfg(tmp_path / "ev", f"ckpt_path={ckpt}", "split=val"))
    assert val["image_size"] == 32 and val["num_images"] == 8
    assert set(val["metrics"]) == set(train_metrics)
    for key, value in train_metrics.items():
        assert val["metrics"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert "val/ciede2000" in val["metrics"] and "val/gray_ciede2000" in val["metrics"]

    evaluate(_eval_cfg(tmp_path / "et", f"ckpt_path={ckpt}"))
    out = tmp_path / "et" / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["split"] == "test" and saved["status"] == "ok"
    for row in ("model", "gray_baseline"):
        assert set(saved[row]) == {"psnr", "ssim", "colorfulness", "ciede2000"}
    assert saved["gray_baseline"]["colorfulness"] < 1.0 < saved["colorfulness_gt"]
    assert saved["model"]["psnr"] != val["model"]["psnr"]  # another split, other images
    table = (out / "metrics.md").read_text()
    assert "| gray baseline (ab = 0) |" in table and "CIEDE2000" in table
    with Image.open(out / "samples.png") as im:  # 3 rows (gray / generated / truth) x 3
        assert im.size == (3 * 32 + 4 * 2, 3 * 32 + 4 * 2)


def test_eval_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="eval needs a checkpoint: pass ckpt_path="):
        evaluate(_eval_cfg(tmp_path))
    with pytest.raises(ConfigError, match="ckpt_path=.*missing.ckpt does not exist"):
        evaluate(_eval_cfg(tmp_path, f"ckpt_path={tmp_path / 'missing.ckpt'}"))
    bogus = tmp_path / "notes.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(ConfigError, match="is not a complete checkpoint"):
        evaluate(_eval_cfg(tmp_path, f"ckpt_path={bogus}"))
    with pytest.raises(ConfigError, match="split='train' is not supported"):
        evaluate(_eval_cfg(tmp_path, f"ckpt_path={bogus}", "split=train"))
    assert not (tmp_path / "run" / "metrics.json").exists()  # nothing half-written


def test_colorgan_eval_command_reports_a_bad_checkpoint(tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the dispatcher rewrites sys.argv
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["eval", "ckpt_path=nope.ckpt", f"paths.log_dir={tmp_path}"])
    assert exit_.value.code == 1
    assert "ckpt_path=nope.ckpt does not exist" in capsys.readouterr().err
