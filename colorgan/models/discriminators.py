"""Conditional discriminators on ``cat(real_A, B)``, a map of logits: PatchGAN (pix2pix,
arXiv:1611.07004; ``basic`` 70x70, ``small`` 8x8 at 64 px) and a 1x1 PixelGAN (``pixel``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from colorgan.models.layers import conv_bias, init_weights, norm_layer


class NLayerDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3,
                 norm: str = "batch", compact: bool = False) -> None:
        """compact=False: pix2pix PatchGAN; compact=True: no stride-1 layer, 3x3 head."""
        super().__init__()
        Norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):  # (B, ndf*mult, H/2^n) -> stride 2
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), Norm(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        if compact:
            layers += [nn.Conv2d(ndf * mult, 1, 3, 1, 1)]
        else:
            prev, mult = mult, min(2 ** n_layers, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), Norm(ndf * mult),
                       nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 1, h, w) logits
        return self.model(x)


class PixelDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        Norm, bias = norm_layer(norm), conv_bias(norm)
        self.model = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), Norm(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 1, H, W) logits
        return self.model(x)


def patchgan_basic(in_channels: int = 3, **kw) -> NLayerDiscriminator:
    return NLayerDiscriminator(in_channels, **{"n_layers": 3, **kw})


def patchgan_small(in_channels: int = 3, **kw) -> NLayerDiscriminator:
    return NLayerDiscriminator(in_channels, **{"n_layers": 3, "compact": True, **kw})
