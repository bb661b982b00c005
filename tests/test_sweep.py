"""Sweeps: a real 2 x 2 multirun with one failing job, the report, the sweep callback."""
from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, make_cfg
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from colorgan import cli, report
from colorgan.sweep import SweepCallback, SweepFailed, claim_sweep_dir

ROOT = Path(__file__).resolve().parents[1]


def test_grid_multirun_keeps_going_after_a_failure_and_reports(tmp_path: Path) -> None:
    """2 x 2 grid (generator x image size): unet_32 cannot take 36 px and fails; the three
    other jobs (including those after it) run, and the report has 4 rows, the failure last."""
    sweep = tmp_path / "sweep"
    tiny = [o for o in TINY if not o.startswith(("model/netG", "data.image_size"))]
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "sweep=grid", *tiny,
           "model/netG=unet_32,resnet_6", "data.image_size=32,36", "model/netD=pixel",
           "model.lambda_rec=10", "model.netD.ndf=8", "data.num_train=8", "data.num_val=4",
           "callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null",
           "callbacks.sample_grid=null",
           "+trainer.num_sanity_val_steps=0", f"hydra.sweep.dir={sweep}",
           f"paths.log_dir={tmp_path / 'logs'}"]
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}  # tiny nets: 1 thread
    proc = subprocess.run(cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # the sweep says that a job failed ...
    assert "1 of 4 jobs did not finish" in out, out[-3000:]

    rows = list(csv.DictReader((sweep / "report.csv").open()))  # ... after the report
    assert len(rows) == 4, rows
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and rows[-1] is failed[0]
    assert "model/netG=unet_32" in failed[0]["overrides"]
    assert "data.image_size=36" in failed[0]["overrides"]
    assert "data.image_size=36" in failed[0]["error"] and failed[0]["psnr"] == ""
    ok = rows[:3]
    assert all(r["status"] == "ok" for r in ok)
    psnr = [float(r["psnr"]) for r in ok]
    assert psnr == sorted(psnr, reverse=True) and all(10 < p < 60 for p in psnr)
    assert all(float(r["train_time_s"]) > 0 and 0 < float(r["ssim"]) <= 1 for r in ok)

    fail_job = sweep / failed[0]["job"]
    data = json.loads((fail_job / "metrics.json").read_text())
    assert data["status"] == "failed" and "ConfigError" in data["traceback"]
    assert (sweep / "report.md").read_text().count("\n| ") == 5  # header + 4 jobs
    assert (sweep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (sweep / ".colorgan_sweep").is_file()


def _job(sweep: Path, num: int, overrides: list[str], metrics: dict | None) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))


def _metrics(psnr: float, ciede: float) -> dict:
    return {"model": {"psnr": psnr, "ssim": 0.9, "colorfulness": 20.0},
            "gray_baseline": {"psnr": 21.0}, "colorfulness_gt": 30.0,
            "metrics": {"val/ciede2000": ciede}, "train_time_s": 5.0, "status": "ok"}


def test_report_of_a_partly_finished_sweep(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep"
    _job(sweep, 0, ["model.lambda_rec=10", "data=cifar10"], _metrics(22.0, 9.0))
    _job(sweep, 1, ["model.lambda_rec=100", "data=cifar10"], _metrics(25.0, 11.0))
    _job(sweep, 2, ["model.lambda_rec=1", "data=cifar10"],
         {"status": "failed", "error": "FloatingPointError: Non-finite loss"})
    _job(sweep, 10, ["model.lambda_rec=5", "data=cifar10"], None)  # still running

    assert report.main([str(sweep)]) == 0
    rows = list(csv.DictReader((sweep / "report.csv").open()))
    assert [r["job"] for r in rows] == ["1", "0", "2", "10"]  # best PSNR first
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "incomplete"]
    assert rows[0]["overrides"] == "model.lambda_rec=100"  # the common data=cifar10 is shown once
    assert "Common overrides: data=cifar10" in capsys.readouterr().out
    assert "Non-finite loss" in rows[2]["error"]

    rep = report.write_report(sweep, sort_by="ciede2000", out_dir=tmp_path / "out")
    assert [r.job for r in rep.rows][:2] == ["0", "1"]  # lower CIEDE2000 is better
    assert math.isnan(rep.rows[-1].values.get("psnr", math.nan))
    assert all(p.is_file() for p in rep.paths.values())


def test_report_errors_speak_to_the_user(tmp_path: Path, capsys) -> None:
    assert report.main([str(tmp_path / "nope")]) == 2
    assert "nope does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["report", str(tmp_path / "empty")]) == 2  # through `colorgan report`
    assert "no job folders" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report.main([str(tmp_path), "--sort-by", "loss"])


def _job_cfg(tmp_path: Path, mode: RunMode):
    return OmegaConf.create({"hydra": {"mode": mode, "runtime": {"output_dir": str(tmp_path)},
                                       "job": {"num": 3}}})


def test_callback_records_failures_and_only_swallows_them_in_a_multirun(tmp_path: Path) -> None:
    cb = SweepCallback()
    single = JobReturn(status=JobStatus.FAILED, _return_value=ValueError("boom"))
    cb.on_job_end(_job_cfg(tmp_path / "a", RunMode.RUN), single)
    assert single.status == JobStatus.FAILED  # a single run still fails loudly
    data = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert data["status"] == "failed" and data["error"] == "ValueError: boom"

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "metrics.json").write_text(json.dumps({"global_step": 7}))
    multi = JobReturn(status=JobStatus.FAILED, _return_value=FloatingPointError("nan"))
    cb.on_job_end(_job_cfg(tmp_path / "b", RunMode.MULTIRUN), multi)
    assert multi.status == JobStatus.COMPLETED and math.isnan(multi.return_value)
    data = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert data["status"] == "failed" and data["global_step"] == 7  # train()'s numbers kept


class PublicJobReturn:
    """Only Hydra's public JobReturn API: ``status`` and ``return_value`` (which raises the
    exception of a failed job), nothing private."""

    def __init__(self, status: JobStatus, value) -> None:
        self.status, self.__value = status, value

    @property
    def return_value(self):
        if self.status == JobStatus.FAILED:
            raise self.__value
        return self.__value

    @return_value.setter
    def return_value(self, value) -> None:
        self.__value = value


def test_callback_uses_only_the_public_job_return_api(tmp_path: Path) -> None:
    job = PublicJobReturn(JobStatus.FAILED, RuntimeError("out of memory"))
    SweepCallback().on_job_end(_job_cfg(tmp_path / "c", RunMode.MULTIRUN), job)
    assert job.status == JobStatus.COMPLETED and math.isnan(job.return_value)
    data = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert data["error"] == "RuntimeError: out of memory"
    ok = PublicJobReturn(JobStatus.COMPLETED, 31.5)
    SweepCallback().on_job_end(_job_cfg(tmp_path / "d", RunMode.MULTIRUN), ok)
    assert ok.return_value == 31.5 and not (tmp_path / "d" / "metrics.json").exists()


def test_sweep_folders_are_unique(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, list(TINY))
    assert re.search(r"multiruns/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}$", cfg.hydra.sweep.dir)
    claim_sweep_dir(tmp_path / "s")
    with pytest.raises(SweepFailed, match="already used by another sweep"):
        claim_sweep_dir(tmp_path / "s")
