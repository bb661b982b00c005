"""Every model/data/trainer option is type-, range- and choice-checked when the config is
composed, before data or model is built, with a message naming the option, the value and
what is expected (colorgan/utils/options.py; docs/reliability.md, round three)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import hydra
import pytest
from conftest import TINY, make_cfg

from colorgan.train import train
from colorgan.utils.config import ConfigError, check_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("override,says", [
    ("model.lambda_rec=abc", "model.lambda_rec='abc': expects a number (default: 25.0)"),
    ("model.lambda_rec=nan", "model.lambda_rec=nan: expects a finite number"),
    ("data.batch_size=-4", "data.batch_size=-4: expects a value > 0"),
    ("data.batch_size=2.5", "data.batch_size=2.5: expects an integer"),
    ("data.image_size=abc", "data.image_size='abc': expects an integer"),
    ("model.gan_mode=foo", "model.gan_mode='foo': expects one of vanilla, lsgan, hinge"),
    ("model.rec_loss=l3", "model.rec_loss='l3': expects one of l1, mse"),
    ("model.adversarial=maybe", "model.adversarial='maybe': expects true or false"),
    ("data.augment.hflip=maybe", "data.augment.hflip='maybe': expects true or false"),
    ("model.optimizer_D.betas=[0.5,1.5]", "model.optimizer_D.betas=[0.5, 1.5]: expects a list"),
    ("model.optimizer_G.lr=fast", "model.optimizer_G.lr='fast': expects a number"),
    ("model.label_smoothing=1.5", "model.label_smoothing=1.5: expects a value in [0, 1)"),
    ("model.chroma_gain=-0.5", "model.chroma_gain=-0.5: expects a value >= 0"),
    ("model.ema.decay=abc", "model.ema.decay='abc': expects a number"),
    ("model.ema=5", "model.ema=5: expects a group of options"),
    ("model.tta_flip=maybe", "model.tta_flip='maybe': expects true or false"),
    ("data.num_workers=-2", "data.num_workers=-2: expects a value >= 0"),
    ("trainer.max_epochs=abc", "trainer.max_epochs='abc': expects an integer"),
    ("trainer.max_epochs=1.5", "trainer.max_epochs=1.5: expects an integer"),
    ("trainer.max_epochs=-5", "trainer.max_epochs=-5: expects a value >= -1"),
    ("trainer.enable_progress_bar=maybe", "trainer.enable_progress_bar='maybe': expects true"),
    ("seed=abc", "seed='abc': expects an integer"),
    ("train=maybe", "train='maybe': expects true or false"),
])
def test_bad_option_is_named_at_compose_time(tmp_path, override, says):
    cfg = make_cfg(tmp_path, [*TINY, override])
    with pytest.raises(ConfigError) as e:
        check_config(cfg)
    assert str(e.value).startswith(says), str(e.value)


def test_null_default_takes_the_type_the_option_has_elsewhere(tmp_path):
    # data=folder's num_workers is null (automatic); data=synthetic's is an integer
    base = ["data=folder", f"data.root={tmp_path}"]
    with pytest.raises(ConfigError, match=r"data.num_workers='abc': expects an integer "
                                          r"\(default: null\)"):
        check_config(make_cfg(tmp_path, [*base, "data.num_workers=abc"]))
    for ok in ("data.num_workers=null", "data.num_workers=3"):
        check_config(make_cfg(tmp_path, [*base, ok]))


def test_a_float_parameter_with_a_whole_number_default_takes_fractions(tmp_path):
    # data.fps: 8 in the YAML, `fps: float | None` in VideoFramesDataModule's signature
    base = ["data=video_frames", f"data.root={tmp_path}"]
    check_config(make_cfg(tmp_path, [*base, "data.fps=2.5"]))
    with pytest.raises(ConfigError, match="data.fps='fast': expects a number"):
        check_config(make_cfg(tmp_path, [*base, "data.fps=fast"]))


@pytest.mark.parametrize("override", [
    "trainer.max_epochs=-1", "model.lambda_rec=10", "model.classification.head_width=null",
    "trainer.devices=auto", "+trainer.limit_train_batches=0.5", "model.chroma_target=0.9",
    "model.gan_mode=hinge", "model.optimizer_G.betas=[0.0,0.99]", "model.scheduler_G=null",
])
def test_good_and_null_values_are_accepted(tmp_path, override):
    check_config(make_cfg(tmp_path, [*TINY, override]))


def test_training_stops_before_building_anything(tmp_path, monkeypatch):
    def built(*a, **k):
        raise AssertionError("data or model was built before the options were checked")

    monkeypatch.setattr(hydra.utils, "instantiate", built)
    with pytest.raises(ConfigError, match="model.lambda_rec='abc'"):
        train(make_cfg(tmp_path, [*TINY, "model.lambda_rec=abc"]))
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_eval_checks_data_options_whose_default_is_null(tmp_path, monkeypatch, capsys):
    import colorgan.eval as ev
    monkeypatch.setattr(sys, "argv", ["eval", "ckpt_path=x.ckpt", "data.image_size=abc",
                                      f"hydra.run.dir={tmp_path / 'run'}"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    (tmp_path / "x.ckpt").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        ev.main()
    err = capsys.readouterr().err  # the option first: it is checked before the file is read
    assert "error: data.image_size='abc': expects an integer" in err and "Traceback" not in err


@pytest.mark.slow  # a real multirun in a subprocess: ~10 s
def test_sweep_report_shows_the_option_message(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "sweep=grid", *TINY,
           "model/netD=pixel", "model.lambda_rec=abc,-1", f"hydra.sweep.dir={sweep}",
           f"paths.log_dir={tmp_path / 'logs'}"]
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "2 of 2 jobs did not finish" in out, out[-3000:]
    assert "Traceback" not in out and "TypeError" not in out, out[-3000:]
    rows = {r["overrides"]: r for r in csv.DictReader((sweep / "report.csv").open())}
    errors = " | ".join(r["error"] for r in rows.values())
    assert len(rows) == 2 and "model.lambda_rec=-1: expects a value >= 0" in errors, errors
    assert "model.lambda_rec='abc': expects a number" in errors, errors
    assert "model.lambda_rec='abc': expects a number" in (sweep / "report.md").read_text()
