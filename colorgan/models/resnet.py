"""ResNet generator (Johnson et al. 2016, arXiv:1603.08155; pix2pix/CycleGAN variant): no skip
connections, a different family from the U-Net for G x D grids.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from colorgan.models.layers import conv_bias, init_weights, norm_layer


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: float) -> None:
        super().__init__()
        Norm, bias = norm_layer(norm), conv_bias(norm)
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), Norm(dim), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), Norm(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 2, ngf: int = 64,
                 n_blocks: int = 9, n_downsampling: int = 2, norm: str = "batch",
                 dropout: float = 0.0) -> None:
        super().__init__()
        Norm, bias = norm_layer(norm), conv_bias(norm)
        self.size_multiple = 2 ** n_downsampling
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   Norm(ngf), nn.ReLU(True)]
        for i in range(n_downsampling):  # (B, ngf*2^i, H/2^i) -> (B, ngf*2^(i+1), H/2^(i+1))
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias), Norm(c * 2), nn.ReLU(True)]
        dim = ngf * 2 ** n_downsampling
        layers += [ResnetBlock(dim, norm, dropout) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            c = ngf * 2 ** i
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                       Norm(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H, W)
        return self.model(x)


def resnet_6blocks(in_channels: int = 1, out_channels: int = 2, **kw) -> ResnetGenerator:
    return ResnetGenerator(in_channels, out_channels, **{"n_blocks": 6, **kw})


def resnet_9blocks(in_channels: int = 1, out_channels: int = 2, **kw) -> ResnetGenerator:
    return ResnetGenerator(in_channels, out_channels, **{"n_blocks": 9, **kw})
