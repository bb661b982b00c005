"""Distributed data parallel for GANs: netG and netD in two DDP wrappers (the StyleGAN2-ADA /
pix2pixHD way), so each of a GAN step's two backward passes reduces exactly the gradients of the
net it updates, without ``find_unused_parameters``. The D step runs ``ddp(self, "netD")``; the G
step runs ``ddp(self, "netG")`` and netD unwrapped (frozen). The wrappers are not registered
children: ``state_dict`` keys (and checkpoints) are those of single-process training.
"""
from __future__ import annotations

import hashlib
import logging

import pytorch_lightning as pl
import torch
from pytorch_lightning.overrides.distributed import _sync_module_states
from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.utilities.rank_zero import rank_zero_info
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger("colorgan")
_WRAPPERS = "_ddp_wrappers"


def rewrap(module: pl.LightningModule, name: str) -> None:
    """After ``name``'s trainable parameters changed: a new DDP wrapper (under gan_ddp only)."""
    strategy = getattr(module._trainer, "strategy", None) if module._trainer else None
    if isinstance(strategy, GANDDPStrategy) and _WRAPPERS in module.__dict__:
        strategy.rewrap(name)


def ddp(module: pl.LightningModule, name: str) -> torch.nn.Module:
    """The DDP wrapper of submodule ``name`` while :class:`GANDDPStrategy` trains, else itself."""
    return module.__dict__.get(_WRAPPERS, {}).get(name) or getattr(module, name)


class GANDDPStrategy(DDPStrategy):
    """``DDPStrategy`` wrapping each of ``lightning_module.ddp_modules`` (default netG, netD) in
    its own ``DistributedDataParallel`` (``conf/trainer/ddp.yaml``); DDP's arguments go to each."""

    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        lm = self.lightning_module
        assert lm is not None and self.model is lm
        names = [n for n in getattr(lm, "ddp_modules", ("netG", "netD"))
                 if isinstance(getattr(lm, n, None), torch.nn.Module)]
        lm.__dict__[_WRAPPERS] = {}  # not registered children: state_dict keys unchanged
        for name in names:
            self.rewrap(name)
        log.debug("GANDDPStrategy: separate DDP wrappers for %s", list(lm.__dict__[_WRAPPERS]))

    def rewrap(self, name: str) -> None:
        """(Re)build submodule ``name``'s wrapper over the parameters that train now (a frozen
        encoder that starts training needs a new one). Every rank calls it."""
        wrappers = self.lightning_module.__dict__[_WRAPPERS]
        wrappers.pop(name, None)  # the old reducer's hooks go with it
        sub = getattr(self.lightning_module, name)
        if any(p.requires_grad for p in sub.parameters()):  # else nothing to reduce (frozen)
            wrappers[name] = DistributedDataParallel(sub, device_ids=self.determine_ddp_device_ids(),
                                                     **self._ddp_kwargs)

    def _register_ddp_hooks(self) -> None:  # Lightning's comm hooks expect one wrapper
        return

    def _sync_states(self) -> None:
        """Rank 0's buffers (BatchNorm statistics) to every rank: one model scores every shard."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            _sync_module_states(self.lightning_module)

    def on_validation_start(self) -> None:
        super().on_validation_start()
        self._sync_states()

    def on_train_end(self) -> None:
        super().on_train_end()
        self._sync_states()

    def teardown(self) -> None:
        lm = self.lightning_module
        if lm is not None:
            lm.__dict__.pop(_WRAPPERS, None)
        super().teardown()


def params_digest(module: torch.nn.Module) -> str:
    """SHA-1 of every parameter and buffer, in state_dict order (bit-exact comparison)."""
    h = hashlib.sha1()
    for key, value in module.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def check_same(digests: list[str]) -> None:
    """Raise when the ranks' digests differ (their weights have drifted apart)."""
    if len(set(digests)) > 1:
        listed = ", ".join(f"rank {r}: {d[:12]}" for r, d in enumerate(digests))
        raise RuntimeError(f"DDP ranks hold different weights after training ({listed}): the "
                           "gradients were not all-reduced. Use trainer.strategy=gan_ddp "
                           "(conf/trainer/ddp.yaml) for GANs.")


class RanksInSync(pl.Callback):
    """At the end of fit, compares netG and netD bit for bit across all ranks; raises if they
    differ and logs the shared digest once otherwise (``+callbacks.ranks_in_sync=...``)."""

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        digest = params_digest(pl_module)
        digests = [digest]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            digests = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(digests, digest)
        check_same(digests)
        rank_zero_info(f"Weights identical on {len(digests)} ranks after step "
                       f"{trainer.global_step} (sha1 {digest[:12]}).")


__all__ = ["GANDDPStrategy", "RanksInSync", "check_same", "ddp", "params_digest", "rewrap"]


def register() -> None:
    """``trainer.strategy=gan_ddp`` (and ``gan_ddp_gloo`` for CPU processes) by name."""
    from pytorch_lightning.strategies import StrategyRegistry

    if "gan_ddp" not in StrategyRegistry:
        StrategyRegistry.register("gan_ddp", GANDDPStrategy, description="netG, netD: two DDP wrappers")
        StrategyRegistry.register("gan_ddp_gloo", GANDDPStrategy, description="gan_ddp over gloo (CPU)",
                                  process_group_backend="gloo")


register()
