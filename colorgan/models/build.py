"""Rebuild netG from its config with torch alone (no Lightning, no Hydra): training, eval and
inference share it, so a checkpoint loads in a process that imports neither."""
from __future__ import annotations

from typing import Any

import torch

from colorgan.color import ColorSpace
from colorgan.hints.encode import LOCAL_CHANNELS
from colorgan.models.color_classes import BinnedGenerator, ColorBins
from colorgan.models.hint_net import HintGenerator
from colorgan.utils.targets import instantiate


def _plain(cfg: Any) -> dict:
    """A DictConfig (training) -> plain containers; a checkpoint's dict is already plain."""
    if type(cfg).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf  # only where the caller already holds a DictConfig

        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


def build_generator(netG: dict, color_space: str, temporal: dict | None,
                    classification: dict | None = None,
                    from_checkpoint: bool = False, hints: dict | None = None) -> torch.nn.Module:
    """Rebuild netG from its config alone, wrapped in a :class:`BinnedGenerator`
    (``classification``) or :class:`HintGenerator` (``hints``); ``from_checkpoint``: no
    pretrained encoder weights loaded."""
    if from_checkpoint:
        from colorgan.models.pretrained import weights_from_checkpoint  # imports timm

        with weights_from_checkpoint():
            return build_generator(netG, color_space, temporal, classification, hints=hints)
    netG = _plain(netG)
    cs = ColorSpace(color_space)
    base = cs.in_channels + (2 if (temporal or {}).get("enabled", False) else 0)  # + prev ab
    hinted = hints_enabled(hints, color_space)
    extra = base - cs.in_channels + (LOCAL_CHANNELS if hinted else 0)

    def wrap(net: torch.nn.Module) -> torch.nn.Module:
        return HintGenerator(net, base) if hinted else net

    cls = dict(classification or {})
    if not cls.get("enabled", False):
        return wrap(instantiate(netG, in_channels=cs.in_channels + extra,
                                out_channels=cs.out_channels))
    if color_space != "lab":
        raise ValueError("model.classification.enabled=true needs model.color_space=lab "
                         "(the bins are in ab).")
    bins = ColorBins(cls.get("grid", 10.0), cls.get("neighbours", 5), cls.get("sigma", 5.0))
    head = cls.get("head_width")  # None (checkpoints before the 1x1 head): Q from the net itself
    net = wrap(instantiate(netG, in_channels=cs.in_channels + extra,
                           out_channels=int(head) if head else bins.num_bins))
    return BinnedGenerator(net, bins, cls.get("temperature", 0.38), int(head) if head else None)


def hints_enabled(hints: dict | None, color_space: str) -> bool:
    """``model.hints.enabled`` (hints are ab colours: Lab only)."""
    if not dict(hints or {}).get("enabled", False):
        return False
    if color_space != "lab":
        raise ValueError(f"model.hints.enabled=true needs model.color_space=lab (hints are ab "
                         f"colours at the pixel's own lightness); got model.color_space="
                         f"{color_space!r}.")
    return True
