"""Sweeps beyond one process: the joblib (one machine) and submitit SLURM (cluster) launchers."""
from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import TINY, make_cfg, run_bounded

ROOT = Path(__file__).resolve().parents[1]


def needs(plugin: str, extra: str = "launchers") -> None:
    if importlib.util.find_spec(f"hydra_plugins.{plugin}") is None:
        pytest.skip(f"{plugin} is not installed (pip install 'colorgan[{extra}]')")


def test_joblib_launcher_config_composes(tmp_path: Path) -> None:
    needs("hydra_joblib_launcher")
    cfg = make_cfg(tmp_path, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == 2


def test_submitit_slurm_launcher_config_composes(tmp_path: Path) -> None:
    needs("hydra_submitit_launcher")
    cfg = make_cfg(tmp_path, ["hydra/launcher=submitit_slurm", "hydra.launcher.gpus_per_node=4",
                              "hydra.launcher.tasks_per_node=4", "hydra.launcher.nodes=2",
                              "hydra.launcher.timeout_min=600"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.nodes) == (4, 4, 2)


@pytest.mark.slow
def test_joblib_sweep_runs_jobs_in_parallel_and_reports(tmp_path: Path) -> None:
    needs("hydra_joblib_launcher")
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "hydra/launcher=joblib",
           "hydra.launcher.n_jobs=2", *TINY, "model.lambda_rec=10,100", "model.netD.ndf=8",
           "data.num_train=8", "data.num_val=4", "callbacks.model_checkpoint=null",
           "callbacks.sample_grid=null", "+trainer.num_sanity_val_steps=0",
           f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path / 'logs'}"]
    proc = run_bounded(cmd, tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    rows = list(csv.DictReader((sweep / "report.csv").open()))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows), rows
    assert {r["overrides"].split("model.lambda_rec=")[1][:3].rstrip(",") for r in rows} == {"10", "100"}
    assert all(5 < float(r["psnr"]) < 60 for r in rows)
    assert (sweep / "report.md").is_file() and (sweep / "report.png").is_file()


def test_gpu_per_job_gives_each_parallel_job_its_own_gpu(tmp_path: Path, monkeypatch) -> None:
    import torch
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    import colorgan.utils.launch  # noqa: F401  (registers ${job_gpu:})

    cfg = make_cfg(tmp_path, ["trainer=gpu_per_job"])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    for num, gpu in ((0, 0), (5, 1), (7, 3)):
        OmegaConf.set_readonly(cfg.hydra, False)  # set_config froze it
        with open_dict(cfg):
            cfg.hydra.job.num = num
        HydraConfig().set_config(cfg)
        assert list(cfg.trainer.devices) == [gpu]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(Exception, match="needs CUDA GPUs.*trainer=cpu"):
        _ = cfg.trainer.devices
