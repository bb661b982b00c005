"""Class guidance (ChromaGAN, Vitoria et al. 2020, arXiv:1907.09837): an auxiliary classifier
on the generator's bottleneck, trained on the labels that class-folder datasets already have
(CIFAR-10 classes, scene folders), read through a forward hook: inference never needs it.
"""
from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


def bottleneck_module(netG: nn.Module) -> tuple[nn.Module, int]:
    """The module whose output is netG's bottleneck, and its channel count."""
    net = getattr(netG, "net", netG)  # a BinnedGenerator wraps the U-Net
    if hasattr(net, "bottleneck") and hasattr(net, "bottleneck_channels"):  # TimmUNet
        return net.bottleneck, int(net.bottleneck_channels)
    down = getattr(net, "down", None)
    widths = getattr(net, "widths", None)
    if down is None or widths is None:
        raise ValueError("model.class_guidance needs a U-Net generator (model/netG=unet_*, unet_timm);"
                         f" {type(net).__name__} has no bottleneck to attach the classifier to.")
    return down[-1], int(widths[-1])


class ClassGuidance(nn.Module):
    """Global-average-pooled bottleneck -> class logits; ``loss(labels)`` after a netG pass."""

    def __init__(self, netG: nn.Module, num_classes: int, hidden: int = 256) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"model.class_guidance: the dataset has {num_classes} class(es); "
                             "class guidance needs at least 2 (a class-folder dataset).")
        module, channels = bottleneck_module(netG)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, hidden), nn.ReLU(True),
                                  nn.Linear(hidden, num_classes))
        self._features: torch.Tensor | None = None
        module.register_forward_hook(self._keep)

    def _keep(self, _module, _inputs, output: torch.Tensor) -> None:
        self._features = output  # (B, C, h, w) of the latest netG pass

    def loss(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy of the latest bottleneck against ``labels`` (-1: ignored) -> (loss, acc)."""
        if self._features is None:
            raise RuntimeError("ClassGuidance.loss called before a generator pass.")
        logits = self.head(self._features.float())  # (B, K)
        known = labels >= 0
        if not bool(known.any()):
            zero = logits.sum() * 0.0
            return zero, zero.detach()
        loss = F.cross_entropy(logits[known], labels[known])
        acc = (logits[known].argmax(1) == labels[known]).float().mean()
        return loss, acc.detach()

    def sync_grads(self) -> None:
        """Under DDP the head is outside netG's wrapper: average its gradients over ranks."""
        if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() < 2:
            return
        for p in self.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()


def guidance_for(netG: nn.Module, cfg: dict | None, datamodule=None) -> ClassGuidance | None:
    """``model.class_guidance``: the head over ``cfg["num_classes"]`` (a checkpoint's) or the
    datamodule's classes (``cfg["num_classes"]`` is then set, so it is saved); None when off,
    or with a warning when the dataset has no class labels."""
    cg = cfg if cfg is not None else {}
    if not cg.get("enabled", False):
        return None
    if not cg.get("num_classes"):
        if datamodule is None:
            return None  # built at setup, once the datamodule's classes are known
        classes = getattr(datamodule, "classes", None)
        if not classes or len(classes) < 2:
            warnings.warn("model.class_guidance.enabled=true, but the dataset has no class "
                          f"labels ({type(datamodule).__name__}); class guidance is off for "
                          "this run. Use a class-folder dataset (cifar10, landscapes, "
                          "data=folder data.class_labels=true).", stacklevel=3)
            return None
        cg["num_classes"] = len(classes)
    return ClassGuidance(netG, int(cg["num_classes"]), cg.get("hidden", 256))


__all__ = ["ClassGuidance", "bottleneck_module", "guidance_for"]
