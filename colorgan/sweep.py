"""Hydra callback that makes multiruns robust and reports them: a sweep folder is claimed once, a
failed job gets ``metrics.json`` with ``status: failed`` and the sweep goes on, and the end writes
``report.csv/md/png`` (:mod:`colorgan.report`), exiting 1 when jobs failed.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from colorgan.report import write_report
from colorgan.utils.atomic import write_text_atomic
from colorgan.utils.config import ConfigError

log = logging.getLogger("colorgan.sweep")
CLAIM_FILE = ".colorgan_sweep"


class SweepFailed(SystemExit):
    """Exit status 1 with this message (Hydra turns a callback's ``Exception`` into a warning)."""


def record_failure(job_dir: Path, error: BaseException, elapsed_s: float | None) -> Path:
    """Write (or update) ``job_dir/metrics.json`` with ``status: failed`` and the error."""
    target = job_dir / "metrics.json"
    payload: dict[str, Any] = {}
    if target.is_file():  # keep what train() already wrote
        try:
            payload = json.loads(target.read_text())
        except ValueError:
            payload = {}
    payload.update(status="failed", error=f"{type(error).__name__}: {error}",
                   traceback="".join(traceback.format_exception(error)))
    if elapsed_s is not None:
        payload.setdefault("train_time_s", round(elapsed_s, 2))
    write_text_atomic(target, json.dumps(payload, indent=2))
    return target


def claim_sweep_dir(sweep_dir: Path) -> None:
    """Create ``sweep_dir`` and mark it as ours; fail if another sweep already did."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(sweep_dir / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise SweepFailed(
            f"hydra.sweep.dir={sweep_dir} is already used by another sweep. Start again (the "
            "default folder name has microseconds), or pass a new hydra.sweep.dir=...") from None
    with os.fdopen(fd, "w") as f:
        f.write(f"pid {os.getpid()} started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")


class SweepCallback(Callback):
    """``hydra.callbacks.sweep``: failure recording and the sweep report (see module doc)."""

    def __init__(self, sort_by: str = "psnr", continue_on_failure: bool = True,
                 fail_at_end: bool = True) -> None:
        self.sort_by = sort_by
        self.continue_on_failure = continue_on_failure
        self.fail_at_end = fail_at_end
        self._t0: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        claim_sweep_dir(Path(str(config.hydra.sweep.dir)))

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._t0 = time.time()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status != JobStatus.FAILED:
            return
        try:  # Hydra's public API: return_value raises the job's exception (and prints an
            with contextlib.redirect_stderr(io.StringIO()):  # "Error executing job" line that
                _ = job_return.return_value  # Hydra prints itself when it re-raises: once)
            return
        except BaseException as e:  # any failure of the job is recorded
            error = e
        job_dir = Path(str(config.hydra.runtime.output_dir))
        elapsed = time.time() - self._t0 if self._t0 is not None else None
        path = record_failure(job_dir, error, elapsed)
        multirun = config.hydra.mode == RunMode.MULTIRUN
        if not (multirun and self.continue_on_failure):
            return  # single run: Hydra reports the exception and exits with an error
        detail = (f"error: {error}" if isinstance(error, ConfigError)  # a bad option: its name
                  else "".join(traceback.format_exception(error)))
        log.error("Job %s failed (recorded in %s); the sweep continues.\n%s",
                  config.hydra.job.get("num", "?"), path, detail)
        job_return.status = JobStatus.COMPLETED
        job_return.return_value = float("nan")  # what the sweeper sees for this job

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        report = write_report(sweep_dir, sort_by=self.sort_by)
        log.info("Sweep report (%s):\n%s", report.paths["md"], report.markdown)
        failed = [r.job for r in report.rows if r.status != "ok"]
        if failed and self.fail_at_end:
            raise SweepFailed(f"{len(failed)} of {len(report.rows)} jobs did not finish "
                              f"(jobs {', '.join(failed)}); their errors are in "
                              f"{sweep_dir}/<job>/metrics.json and in {report.paths['md']}.")
