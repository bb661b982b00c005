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
    last = trained["last_checkpoint"]
    assert last and Path(last).is_file()
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == \
        objects["trainer"].global_step  # the final weights
    # the run's final numbers are of the checkpoint val chose: epoch 0's, not the last weights
    ckpt = trained["evaluated_checkpoint"]
    assert ckpt == trained["best_checkpoint"] and "epoch_000" in ckpt
    assert trained["protocol"]["checkpoint_used"] == "best"
    assert trained["protocol"]["checkpoint"] == "val" and trained["split"] == "test"

    # split=val: exactly the numbers of train.py's final validation (of that checkpoint);
    # data.image_size is not given: it comes from the checkpoint (32, not synthetic's 64)
    val, _ = evaluate(_eval_cfg(tmp_path / "ev", f"ckpt_path={ckpt}", "split=val"))
    assert val["image_size"] == 32 and val["num_images"] == 8
    assert val["scope"] == "val split, 8 images (it chose the checkpoint: in-sample)"
    trained_val = {k: v for k, v in train_metrics.items() if k.startswith("val/")}
    assert set(val["metrics"]) == set(trained_val)
    for key, value in trained_val.items():
        assert val["metrics"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert "val/ciede2000" in val["metrics"] and "val/gray_ciede2000" in val["metrics"]

    # split=test: the test numbers train.py reported, again
    test, _ = evaluate(_eval_cfg(tmp_path / "et0", f"ckpt_path={ckpt}"))
    for key in ("test/psnr", "test/ssim", "test/colorfulness", "test/gray_psnr"):
        assert test["metrics"][key] == pytest.approx(train_metrics[key], rel=1e-5), key
    assert test["model"]["psnr"] == pytest.approx(trained["model"]["psnr"], rel=1e-5)

    evaluate(_eval_cfg(tmp_path / "et", f"ckpt_path={ckpt}"))
    out = tmp_path / "et" / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["split"] == "test" and saved["status"] == "ok"
    assert saved["skipped"] == {} and "fid" not in saved["model"]  # FID / LPIPS: off by default
    for row in ("model", "gray_baseline"):
        assert set(saved[row]) == {"psnr", "ssim", "colorfulness", "delta_colorfulness", "ciede2000"}
        assert saved[row]["delta_colorfulness"] == pytest.approx(  # Delta CF = |CF - CF_gt|
            abs(saved[row]["colorfulness"] - saved["colorfulness_gt"]), abs=1e-5)
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
    with pytest.raises(ConfigError, match="notes.ckpt is not a readable PyTorch checkpoint: it is"):
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


def _photos(folder: Path, n: int) -> Path:
    """``n`` small colour photos in a tree, as a user's own folder would be."""
    g = torch.Generator().manual_seed(1)
    for i in range(n):
        sub = folder / ("holidays" if i % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (torch.rand(40, 48, 3, generator=g) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(sub / f"photo_{i}.png")
    return folder


def test_eval_on_any_folder_uses_every_image(tmp_path: Path, monkeypatch) -> None:
    tcfg = make_cfg(tmp_path / "train", [*TINY, "callbacks.sample_grid=null"])
    train(tcfg)
    ckpt = tmp_path / "train" / "run" / "checkpoints" / "last.ckpt"
    photos = _photos(tmp_path / "my photos", 5)
    payload, _ = evaluate(make_cfg(tmp_path / "ev", [
        f"ckpt_path={ckpt}", "data=folder", f"data.root={photos}", "data.num_workers=0",
        "trainer.enable_progress_bar=false"], config_name="eval.yaml"))
    # no split in this folder: scored whole, and said so (not a silent switch to "test")
    assert payload["num_images"] == 5 and payload["split"] == "all"
    assert payload["scope"] == f"all 5 images of {photos}, no split"
    assert payload["image_size"] == 32 and payload["status"] == "ok"
    assert payload["protocol_warnings"] == []  # not the checkpoint's training data
    assert f"all 5 images of {photos}, no split" in (tmp_path / "ev" / "run" / "metrics.md").read_text()

    # the same through the command: colorgan eval ckpt_path=... --images DIR
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["eval", f"ckpt_path={ckpt}", "--images", str(photos), "data.num_workers=0",
                     "trainer.enable_progress_bar=false", f"paths.log_dir={tmp_path / 'cli'}"]) == 0
    (saved,) = (tmp_path / "cli").rglob("metrics.json")
    assert json.loads(saved.read_text())["num_images"] == 5


def test_a_test_only_folder_cannot_train(tmp_path: Path) -> None:
    from colorgan.data.folder import FolderDataModule

    dm = FolderDataModule(root=str(_photos(tmp_path / "p", 3)), test_fraction=1.0, image_size=32)
    with pytest.raises(ValueError, match="data.test_fraction=1.0 makes every image .* the test set"):
        dm.setup("fit")
    dm.setup("test")
    assert len(dm.data_test) == 3 and dm.data_train is None and dm.data_val is None
    assert cli.images_option(["a=1", "--images=x y/"]) == ["a=1", "data=folder", "data.root=x y/"]
    with pytest.raises(SystemExit, match="--images needs a folder"):
        cli.images_option(["--images"])
