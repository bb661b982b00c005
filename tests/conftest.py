"""Shared fixtures: Hydra configs composed like `python train.py ...`, run in a temp folder."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from colorgan.utils.config import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[1]
# the optimizers as every model config composes them (the defaults live only in YAML)
OPT = {k: OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "unet_gan.yaml")[k])
       for k in ("optimizer_G", "optimizer_D")}
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def shared_data(rel: str) -> Path:
    """A file in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"real test data {path} is absent (only present in the project's workspace)")
    return path


def make_cfg(tmp_path: Path, overrides: list[str] | None = None,
             config_name: str = "train.yaml") -> DictConfig:
    """Compose a config as the CLI would, with outputs under tmp_path and tiny settings."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides or []),
                      return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.root_dir = str(tmp_path)
        cfg.paths.output_dir = str(tmp_path / "run")
        cfg.paths.log_dir = str(tmp_path / "logs")
        cfg.paths.work_dir = str(tmp_path)
        cfg.hydra.runtime.output_dir = str(tmp_path / "run")
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    return cfg


TINY = [
    "data=synthetic", "data.image_size=32", "data.batch_size=4", "data.num_train=16",
    "data.num_val=8", "data.num_test=8", "model/netG=unet_32", "model.netG.ngf=8",
    "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
    "callbacks.model_summary=null",
]


@pytest.fixture
def tiny_overrides() -> list[str]:
    """Overrides that make any model train in about a second on CPU."""
    return list(TINY)


def run_bounded(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run in a new process group and kill the whole group (DDP's child ranks too) on timeout."""
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{cmd[1:3]} did not finish in {timeout} s:\n{out[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")
