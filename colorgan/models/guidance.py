"""Class guidance (ChromaGAN, Vitoria et al. 2020, arXiv:1907.09837): an auxiliary classifier
on the generator's bottleneck, trained on the labels that class-folder datasets already have
(CIFAR-10 classes, scene or landscape folders), so the encoder learns what the picture shows.

The head reads the bottleneck through a forward hook, so the generator itself is unchanged and
inference (``colorgan colorize``) never needs the head.

With ``model.class_guidance.labels=colorfulness`` the classes are how colourful each training
photo is, not what it shows: its Hasler-Suesstrunk colorfulness binned at their categories
(2003: not, slightly, moderately, averagely, quite, highly colourful; ``COLOUR_EDGES``). Any
dataset has these labels, and ``model.chroma_per_class`` then gives each photo the vibrance
gain that its likely colourfulness calls for (experiments/quality, table 22).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from colorgan.metrics import colorfulness

COLOUR_EDGES = (15.0, 33.0, 45.0, 59.0, 82.0)  # Hasler & Suesstrunk's category values
LABEL_SOURCES = ("dataset", "colorfulness")


def colour_labels(rgb: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) in [0, 1] -> each photo's colorfulness class (B,) in 0..5."""
    edges = torch.tensor(COLOUR_EDGES, device=rgb.device)
    return torch.bucketize(colorfulness(rgb.float().clamp(0, 1)), edges)


def check_label_source(source: str) -> str:
    if source not in LABEL_SOURCES:
        raise ValueError(f"model.class_guidance.labels={source!r}: choose one of "
                         f"{list(LABEL_SOURCES)} (dataset: the class folders' labels; "
                         "colorfulness: how colourful each photo is, for any dataset).")
    return source


def bottleneck_module(netG: nn.Module) -> tuple[nn.Module, int]:
    """The module whose output is netG's bottleneck, and its channel count."""
    net = getattr(netG, "net", netG)  # a BinnedGenerator wraps the U-Net
    if hasattr(net, "bottleneck") and hasattr(net, "bottleneck_channels"):  # TimmUNet
        return net.bottleneck, int(net.bottleneck_channels)
    down = getattr(net, "down", None)
    widths = getattr(net, "widths", None)
    if down is None or widths is None:
        raise ValueError("model.class_guidance needs a U-Net generator (model/netG=unet_*, "
                         f"unet_timm); "
                         f"{type(net).__name__} has no bottleneck to attach the classifier to.")
    return down[-1], int(widths[-1])


class ClassGuidance(nn.Module):
    """Global-average-pooled bottleneck -> class logits; ``loss(labels)`` after a netG pass."""

    def __init__(self, netG: nn.Module, num_classes: int, hidden: int = 256,
                 detach: bool = False) -> None:
        super().__init__()
        self.detach = bool(detach)  # train the head only: the generator does not learn from it
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
        """Cross-entropy of the latest bottleneck against ``labels`` (-1 = unknown, ignored)
        -> (loss, accuracy over the labelled items)."""
        if self._features is None:
            raise RuntimeError("ClassGuidance.loss called before a generator pass.")
        features = self._features.detach() if self.detach else self._features
        logits = self.head(features.float())  # (B, K)
        known = labels >= 0
        if not bool(known.any()):
            zero = logits.sum() * 0.0
            return zero, zero.detach()
        loss = F.cross_entropy(logits[known], labels[known])
        acc = (logits[known].argmax(1) == labels[known]).float().mean()
        return loss, acc.detach()

    @torch.no_grad()
    def logits(self, netG: nn.Module, g_in: torch.Tensor) -> torch.Tensor:
        """Class logits (B, K) from one full pass of ``netG`` (the module the head is hooked
        to): the head must see the bottleneck as training does, after the decoder's first
        in-place ReLU (the encoder alone gives other features: on CIFAR-10, 60% accuracy
        instead of 68%)."""
        self._features = None
        netG(g_in)
        if self._features is None:
            raise RuntimeError("ClassGuidance: the head is not hooked to this generator.")
        return self.head(self._features.float())

    def classify(self, netG: nn.Module, g_in: torch.Tensor) -> torch.Tensor:
        """The most likely class of each input (B,)."""
        return self.logits(netG, g_in).argmax(1)


__all__ = ["COLOUR_EDGES", "ClassGuidance", "bottleneck_module", "check_label_source",
           "colour_labels"]
