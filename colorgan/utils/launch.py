"""Config resolvers for scaled-out runs, registered on import: ``${job_gpu:}`` (one GPU per job
of a parallel multirun) and ``${cuda_accelerator:${.accelerator}}`` (SyncBatchNorm on CUDA only).
"""
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


def cuda_accelerator(accelerator: str) -> bool:
    """Whether ``trainer.accelerator`` trains on CUDA devices."""
    name = str(accelerator).lower()
    return name in ("gpu", "cuda") or (name == "auto" and torch.cuda.is_available())


def register_resolvers() -> None:
    for name, fn in (("job_gpu", job_gpu), ("cuda_accelerator", cuda_accelerator)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()
