"""A hint-conditioned netG (``model.hints.enabled``), after Zhang, Zhu et al. 2017
(arXiv:1705.02999): the point hints enter with the input (3 more channels), the global hint
(a reference's palette) goes through a small MLP and is added to the bottleneck features.

Any generator with a bottleneck works: the pix2pix U-Nets, the ResNets, ``unet_timm``.
The input layout is :mod:`colorgan.hints.encode`'s; the wrapped net never sees the palette
channels, so they cost memory, not compute.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from colorgan.hints.encode import LOCAL_CHANNELS, palette_dim


def bottleneck_of(net: nn.Module) -> tuple[nn.Module, int]:
    """The module whose output is ``net``'s bottleneck, and its channel count."""
    from colorgan.models.resnet import ResnetBlock, ResnetGenerator

    if isinstance(net, ResnetGenerator):  # the features entering the first residual block
        layers = list(net.model)
        first = next(i for i, m in enumerate(layers) if isinstance(m, ResnetBlock))
        return layers[first - 1], int(layers[first].block[1].in_channels)
    if hasattr(net, "bottleneck") and hasattr(net, "bottleneck_channels"):  # TimmUNet
        return net.bottleneck, int(net.bottleneck_channels)
    down, widths = getattr(net, "down", None), getattr(net, "widths", None)
    if down is None or widths is None:
        raise ValueError(f"model.hints.enabled=true: {type(net).__name__} has no bottleneck to "
                         "add the global hint to; use model/netG=unet_*, resnet_* or unet_timm.")
    return down[-1], int(widths[-1])  # UNetGenerator: the innermost down block


class HintGenerator(nn.Module):
    """``forward(x)``: x (B, base + 3 + D, H, W) -> netG's output (B, C_out, H, W)."""

    def __init__(self, net: nn.Module, base_channels: int) -> None:
        super().__init__()
        self.net, self.base_channels = net, int(base_channels)
        module, channels = bottleneck_of(net)
        self.global_net = nn.Sequential(nn.Linear(palette_dim(), channels), nn.ReLU(True),
                                        nn.Linear(channels, channels))
        nn.init.zeros_(self.global_net[2].weight)  # starts as the automatic colorizer
        nn.init.zeros_(self.global_net[2].bias)
        self._glob: torch.Tensor | None = None
        module.register_forward_hook(self._add_global)
        self.size_multiple = getattr(net, "size_multiple", 1)

    @property
    def in_channels(self) -> int:
        return self.base_channels + LOCAL_CHANNELS + palette_dim()

    @property
    def bottleneck(self) -> nn.Module:  # class guidance reads the same features
        return bottleneck_of(self.net)[0]

    @property
    def bottleneck_channels(self) -> int:
        return bottleneck_of(self.net)[1]

    def encoder_parameters(self):  # model.encoder with unet_timm
        inner = getattr(self.net, "encoder_parameters", None)
        return inner() if callable(inner) else None

    def _add_global(self, _module, _inputs, output: torch.Tensor) -> torch.Tensor | None:
        if self._glob is None:
            return None
        return output + self._glob.to(output.dtype)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"a hint netG takes {self.in_channels} input channels (gray, hint "
                             f"ab, hint mask, palette), got {x.shape[1]}.")
        local = self.base_channels + LOCAL_CHANNELS
        self._glob = self.global_net(x[:, local:, 0, 0].float())  # (B, C_bottleneck)
        try:
            return self.net(x[:, :local])
        finally:
            self._glob = None


__all__ = ["HintGenerator", "bottleneck_of"]
