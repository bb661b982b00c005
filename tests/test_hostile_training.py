"""Faults around training, eval and report (docs/reliability.md): checkpoints written whole or
not at all, truncated and crafted checkpoints, bad options named, config errors without
Hydra's traceback, report on a file or into a read-only folder."""
from __future__ import annotations

import errno
import os
import sys

import hydra
import pytest
import torch
from conftest import make_cfg
from test_video_helpers import ckpt  # noqa: F401

from colorgan import report
from colorgan.colorize.cli import colorize_main
from colorgan.eval import load_model
from colorgan.utils.checkpoint_io import AtomicCheckpointIO
from colorgan.utils.config import ConfigError, check_config


def _half_then_full_disk(obj, f, *a, **k):
    with open(f, "wb") as fh:
        fh.write(b"PK\x03\x04" + b"\0" * 1000)  # half a checkpoint...
    raise OSError(errno.ENOSPC, "No space left on device")


def test_checkpoint_write_that_fails_halfway_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "checkpoints" / "epoch_001-psnr_14.58.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, target)
    before = target.read_bytes()
    monkeypatch.setattr(torch, "save", _half_then_full_disk)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, target)
    assert target.read_bytes() == before  # the old checkpoint is intact
    with pytest.raises(OSError):
        io.save_checkpoint({}, tmp_path / "checkpoints" / "new.ckpt")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no partial file


def test_training_saves_checkpoints_through_the_atomic_plugin(tmp_path, tiny_overrides):
    cfg = make_cfg(tmp_path, tiny_overrides)
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_truncated_checkpoint_on_resume_names_the_file(ckpt, tmp_path, tiny_overrides):  # noqa: F811
    bad = tmp_path / "last.ckpt"
    bad.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    cfg = make_cfg(tmp_path, [*tiny_overrides, f"ckpt_path={bad}"])
    with pytest.raises(ConfigError, match=f"ckpt_path={bad} is not a complete checkpoint"):
        check_config(cfg)


def test_negative_learning_rate_names_the_option(tmp_path, tiny_overrides):
    cfg = make_cfg(tmp_path, [*tiny_overrides, "model.optimizer_D.lr=-0.001"])
    with pytest.raises(ConfigError, match=r"model\.optimizer_D\.lr=-0.001"):
        check_config(cfg)


def _crafted(ckpt_path, tmp_path):
    data = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    data["hyper_parameters"]["netG"]["_target_"] = "os.system"
    target = tmp_path / "crafted.ckpt"
    torch.save(data, target)
    return target


def test_crafted_checkpoint_target_is_refused(ckpt, tmp_path, capsys, monkeypatch):  # noqa: F811
    crafted = _crafted(ckpt, tmp_path)
    monkeypatch.setattr(os, "system", lambda *a, **k: pytest.fail("os.system was called"))
    src = tmp_path / "p.png"
    from PIL import Image
    Image.new("L", (8, 8)).save(src)
    assert colorize_main([str(src), "-o", str(tmp_path / "o.png"), "--ckpt", str(crafted)]) == 1
    err = capsys.readouterr().err
    assert "netG._target_='os.system'" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="refusing to build it"):
        load_model(str(crafted))


@pytest.mark.parametrize("module", ["colorgan.train", "colorgan.eval"])
def test_config_error_prints_the_message_alone(tmp_path, monkeypatch, capsys, module):
    main = __import__(module, fromlist=["main"]).main
    argv = [module, f"ckpt_path={tmp_path}/missing.ckpt", f"hydra.run.dir={tmp_path}/run"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 1 and "missing.ckpt does not exist" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # the full trace: the exception itself
    with pytest.raises(ConfigError, match="missing.ckpt does not exist"):
        main()


def test_report_on_a_file_says_it_is_a_file(tmp_path, capsys):
    f = tmp_path / "report.md"
    f.write_text("x")
    assert report.main([str(f)]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "does not exist" not in err


def test_report_into_a_read_only_folder_is_a_message(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root ignores the mode: refuse the write the way the OS would
        def refuse(target, text):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        monkeypatch.setattr(report, "write_text_atomic", refuse)
    try:
        assert report.main([str(sweep), "-o", str(locked)]) == 2
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert "cannot write the report into" in err and "Permission denied" in err
    assert "Traceback" not in err
