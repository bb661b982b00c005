"""Sweeps on one machine with several GPUs: ``trainer=gpu_per_job`` gives each job of a
parallel multirun (``hydra/launcher=joblib``) its own GPU, ``hydra.job.num`` modulo the GPU
count, through the ``${job_gpu:}`` resolver registered here."""
from __future__ import annotations

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf


def job_gpu() -> list[int]:
    """``[hydra.job.num % number of GPUs]`` (``[0]`` outside a multirun)."""
    count = torch.cuda.device_count()
    if count == 0:
        raise RuntimeError("trainer=gpu_per_job needs CUDA GPUs and none is visible; use "
                           "trainer=cpu for CPU sweeps (hydra.launcher.n_jobs jobs at once).")
    num = HydraConfig.get().job.get("num", 0) if HydraConfig.initialized() else 0
    return [int(num or 0) % count]


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("job_gpu"):
        OmegaConf.register_new_resolver("job_gpu", job_gpu)


register_resolvers()
