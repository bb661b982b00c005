"""U-Net generator (Ronneberger et al. 2015) in the pix2pix form (Isola et al. 2017, arXiv:1611.07004).

Dropout goes in the ``num_downs - 5`` up blocks next to the innermost one, as in pix2pix;
unet_32 and unet_64 are colorgan designs and name their own.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from colorgan.models.layers import conv_bias, init_weights, norm_layer


def pix2pix_widths(num_downs: int, ngf: int, max_mult: int = 8) -> list[int]:
    """ngf, 2ngf, 4ngf, 8ngf, 8ngf, ... (num_downs entries)."""
    return [ngf * min(2 ** i, max_mult) for i in range(num_downs)]


class UNetGenerator(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 2, num_downs: int = 8,
                 ngf: int = 64, widths: Sequence[int] | None = None, norm: str = "batch",
                 dropout: float = 0.5, n_dropout: int | None = None, first_stride: int = 2) -> None:
        super().__init__()
        widths = list(widths) if widths else pix2pix_widths(int(num_downs), int(ngf))
        if len(widths) < 2:
            raise ValueError(f"netG needs at least 2 levels, got widths={widths}.")
        if first_stride not in (1, 2):
            raise ValueError(f"netG.first_stride={first_stride} must be 1 or 2.")
        n, Norm, bias = len(widths), norm_layer(norm), conv_bias(norm)
        n_dropout = max(n - 5, 0) if n_dropout is None else int(n_dropout)  # pix2pix rule
        self.widths, self.first_stride = widths, first_stride
        self.size_multiple = 2 ** (n - 1) * first_stride  # input H, W must divide by this

        self.down = nn.ModuleList()
        for i, w in enumerate(widths):
            stride = first_stride if i == 0 else 2
            k = 4 if stride == 2 else 3
            conv = nn.Conv2d(in_channels if i == 0 else widths[i - 1], w, k, stride, 1,
                             bias=bias or i == 0 or i == n - 1)
            if i == 0:
                self.down.append(conv)  # outermost: no activation, no norm
            elif i == n - 1:
                self.down.append(nn.Sequential(nn.LeakyReLU(0.2, True), conv))  # innermost
            else:
                self.down.append(nn.Sequential(nn.LeakyReLU(0.2, True), conv, Norm(w)))

        self.up = nn.ModuleList()  # up[i] undoes down[i]
        for i in range(n):
            cin = widths[i] if i == n - 1 else widths[i] * 2
            if i == 0:
                last = (nn.ConvTranspose2d(cin, out_channels, 4, 2, 1) if first_stride == 2
                        else nn.Conv2d(cin, out_channels, 3, 1, 1))
                self.up.append(nn.Sequential(nn.ReLU(True), last, nn.Tanh()))
                continue
            layers = [nn.ReLU(True), nn.ConvTranspose2d(cin, widths[i - 1], 4, 2, 1, bias=bias),
                      Norm(widths[i - 1])]
            if dropout > 0 and n - 1 - n_dropout <= i <= n - 2:
                layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H, W)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[-1](skips[-1])
        for i in range(len(self.up) - 2, -1, -1):
            x = self.up[i](torch.cat([x, skips[i]], dim=1))
        return x


def unet_256(in_channels: int = 1, out_channels: int = 2, **kw) -> UNetGenerator:
    """pix2pix unet_256: 8 downsamplings, ngf 64, dropout 0.5 in the 3 inner up blocks."""
    return UNetGenerator(in_channels, out_channels, **{"num_downs": 8, "ngf": 64, **kw})


def unet_128(in_channels: int = 1, out_channels: int = 2, **kw) -> UNetGenerator:
    """pix2pix unet_128: 7 downsamplings, ngf 64, dropout 0.5 in the 2 inner up blocks."""
    return UNetGenerator(in_channels, out_channels, **{"num_downs": 7, "ngf": 64, **kw})


def unet_64(in_channels: int = 1, out_channels: int = 2, **kw) -> UNetGenerator:
    """Small 64 px design: widths 32-64-128-256-256-256-256, stride-1 first layer, dropout 0.3."""
    cfg = {"widths": [32, 64, 128, 256, 256, 256, 256], "first_stride": 1, "dropout": 0.3,
           "n_dropout": 3}
    return UNetGenerator(in_channels, out_channels, **{**cfg, **kw})


def unet_32(in_channels: int = 1, out_channels: int = 2, **kw) -> UNetGenerator:
    """CIFAR-size: 5 downsamplings, 32 px -> 1 px bottleneck. Deviation from the pix2pix rule
    (num_downs - 5 = 0 dropout blocks): dropout in the 2 inner up blocks, as trained so far."""
    return UNetGenerator(in_channels, out_channels,
                         **{"num_downs": 5, "ngf": 64, "n_dropout": 2, **kw})
