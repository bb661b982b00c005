"""The fast GPU path: channels_last, torch.compile, fused Adam, and a finite-loss check that
does not synchronise the host with the GPU at every step; ``None`` settings: on for CUDA.
"""
from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger("colorgan")


def on_cuda(device: torch.device | str | None) -> bool:
    return device is not None and torch.device(device).type == "cuda"


def resolve(flag: bool | None, device: torch.device | str | None) -> bool:
    """``None`` (auto) -> on for CUDA; an explicit true/false wins."""
    return on_cuda(device) if flag is None else bool(flag)


def to_channels_last(*nets: torch.nn.Module | None) -> None:
    """NHWC weights: tensor cores read convolutions without transposes (Ampere and newer)."""
    for net in nets:
        if net is not None:
            net.to(memory_format=torch.channels_last)


def compile_nets(*nets: torch.nn.Module | None, option: str = "model.compile") -> bool:
    """``nn.Module.compile`` in place (state_dict keys unchanged); eager, said once, where it cannot."""
    try:
        for net in nets:
            if net is not None:
                net.compile()
    except Exception as e:  # no triton / C++ compiler / unsupported platform
        log.warning("%s=true but torch.compile is unavailable here (%s: %s); training eagerly. "
                    "Set %s=false to silence this.", option, type(e).__name__, e, option)
        return False
    return True


def fused_kwargs(factory, params: list[torch.nn.Parameter], has_scaler: bool) -> dict:
    """``{"fused": True}`` for torch Adam/AdamW on CUDA parameters when the factory does not
    choose itself; not with a GradScaler (Lightning unscales before clipping)."""
    func = getattr(factory, "func", factory)
    keywords = getattr(factory, "keywords", {}) or {}
    if (func not in (torch.optim.Adam, torch.optim.AdamW) or has_scaler
            or any(k in keywords for k in ("fused", "foreach"))):
        return {}
    return {"fused": True} if params and all(p.is_cuda for p in params) else {}


def default_workers() -> int:
    """DataLoader workers for ``num_workers: null``: up to 8 to feed a GPU, 2 on CPU-only machines."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if torch.cuda.is_available():
        return max(1, min(8, cores - 1))
    return min(2, cores)


class FiniteGuard:
    """Non-finite loss detection without a device->host copy per step: ``update`` folds
    ``isfinite`` into device tensors; ``check`` reads them once and raises naming the step."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def update(self, step: int, losses: dict[str, torch.Tensor]) -> None:
        names = tuple(losses)
        values = torch.stack([v.detach().float().reshape(()) for v in losses.values()])  # (K,)
        bad_now = ~torch.isfinite(values).all()
        if names not in self.state:
            self.state[names] = (torch.full((), -1, dtype=torch.long, device=values.device),
                                 torch.zeros_like(values))
        first, vals = self.state[names]
        newly = bad_now & (first < 0)
        self.state[names] = (torch.where(newly, torch.full_like(first, step), first),
                             torch.where(newly, values, vals))

    def check(self, epoch: int) -> None:
        """One host sync for everything recorded since the last check."""
        state, self.state = self.state, {}
        for names, (first, vals) in state.items():
            step = int(first.item())
            if step >= 0:
                bad = {n: v for n, v in zip(names, vals.tolist()) if not torch.isfinite(torch.tensor(v))}
                raise FloatingPointError(
                    f"Non-finite loss at global step {step} (epoch {epoch}): {bad}. Training "
                    "stopped; the last saved checkpoint is unchanged. Try a lower "
                    "model.optimizer_G.lr / model.optimizer_D.lr or model.grad_clip=1.0.")
