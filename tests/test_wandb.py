"""W&B: offline by default, the offline run holds metrics, images and config, never blocks."""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import wandb
from conftest import TINY, make_cfg
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict, read_write

from colorgan.train import train
from colorgan.utils import wandb as cw


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch) -> Path:
    """No API key, no W&B mode or server, a netrc without W&B: a fresh user's machine."""
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))  # no settings file
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login me password x\n")
    monkeypatch.setenv("NETRC", str(netrc))
    wandb.teardown()  # wandb reads its settings once per process: start afresh
    yield netrc
    wandb.teardown()


def test_offline_run_holds_metrics_sample_images_and_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(make_cfg(tmp_path, [*TINY, "logger=wandb", "model.lambda_rec=37.5"]))
    assert wandb.run is None  # finished: the next job of a multirun starts its own run
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    record_log = next(runs[0].glob("run-*.wandb"))  # W&B's record log (protobuf records)
    for _ in range(50):  # W&B's service may still be writing it out
        if b"val/samples" in (log := record_log.read_bytes()):
            break
        time.sleep(0.2)
    for key in (b"train/loss_G", b"train/loss_D", b"val/psnr", b"val/ciede2000",
                b"val/gray_psnr", b"val/samples"):
        assert key in log, key
    assert b"lambda_rec" in log and b"37.5" in log  # the resolved config
    images = list((runs[0] / "files" / "media" / "images").rglob("samples_*.png"))
    assert images and all(p.read_bytes()[:4] == b"\x89PNG" for p in images)


def test_offline_unless_configured(no_credentials: Path, tmp_path: Path, monkeypatch) -> None:
    assert not cw.wandb_configured()
    logger = cw.make_wandb_logger(save_dir=tmp_path / "w", project="p")
    assert logger._offline and logger._wandb_init["settings"].init_timeout == 30.0
    monkeypatch.delenv("WANDB_MODE")  # set by make_wandb_logger for this process
    host = urlparse(wandb.setup().settings.base_url).hostname  # wandb's default server
    no_credentials.write_text(f"machine {host} login user password {'k' * 40}\n")
    assert cw.wandb_configured()
    monkeypatch.setenv("WANDB_MODE", "offline")
    wandb.teardown()
    assert not cw.wandb_configured()  # the user's WANDB_MODE=offline wins


@pytest.mark.parametrize("how", ["api_key", "self_hosted_netrc"])
def test_wandb_settings_decide_online(no_credentials: Path, monkeypatch, how: str) -> None:
    if how == "api_key":
        monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    else:  # a self-hosted server: its netrc entry, found through WANDB_BASE_URL
        monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example-corp.org")
        no_credentials.write_text(f"machine wandb.example-corp.org login me password {'s' * 40}\n")
    wandb.teardown()
    assert cw.wandb_configured()


def test_online_start_failure_falls_back_to_offline(no_credentials: Path, tmp_path: Path,
                                                    monkeypatch) -> None:
    modes = []

    def fake_init(**kwargs):
        modes.append(kwargs.get("mode"))
        if kwargs.get("mode") != "offline":
            raise wandb.errors.CommError("timed out waiting for api.wandb.ai")
        return "offline-run"

    monkeypatch.setattr(wandb, "init", fake_init)
    logger = cw.make_wandb_logger(offline=False, save_dir=tmp_path, project="p")
    assert logger.experiment == "offline-run"
    assert modes == [None, "offline"] and logger._offline


def test_multirun_jobs_are_grouped_by_sweep(tmp_path: Path) -> None:
    assert cw.sweep_identity("grid") == (None, None)  # a single run: W&B's defaults
    cfg = make_cfg(tmp_path, list(TINY))
    with read_write(cfg.hydra), open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.sweep.dir = str(tmp_path / "multiruns" / "2026-01-02_03-04-05_000001")
        cfg.hydra.job.num = 3
        cfg.hydra.job.override_dirname = "model.lambda_rec=10"
    HydraConfig().set_config(cfg)
    assert cw.sweep_identity("grid") == ("grid-2026-01-02_03-04-05_000001",
                                         "3: model.lambda_rec=10")
