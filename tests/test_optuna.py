"""Optuna search (hparams_search=optuna): trials run, each writes metrics, the study ends with a report."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


def test_optuna_search_runs_trials_and_reports(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper",
                        reason="hydra-optuna-sweeper is not installed (pip install -e '.[sweep]')")
    sweep = tmp_path / "optuna"
    cmd = [sys.executable, str(ROOT / "train.py"), "hparams_search=optuna", *TINY,
           "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=2",
           "data.num_train=8", "data.num_val=4", "callbacks.model_checkpoint=null",
           "callbacks.last_checkpoint=null", "callbacks.sample_grid=null", f"hydra.sweep.dir={sweep}",
           f"paths.log_dir={tmp_path / 'logs'}"]
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    rows = list(csv.DictReader((sweep / "report.csv").open()))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows), rows
    assert all("model.lambda_rec=" in r["overrides"] for r in rows)  # sampled by Optuna
    assert (sweep / "optimization_results.yaml").is_file()  # Optuna's best trial
