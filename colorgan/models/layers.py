"""Small shared building blocks: norm layers by name and pix2pix weight init."""
from __future__ import annotations

import functools

import torch.nn as nn

NORMS = ("batch", "instance", "none")


def norm_layer(norm: str):
    """Return a constructor ``f(channels) -> nn.Module`` for a norm name."""
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda _c: nn.Identity()
    raise ValueError(f"norm={norm!r} is not supported; choose one of {list(NORMS)}.")


def conv_bias(norm: str) -> bool:
    """BatchNorm has its own shift, so convs before it need no bias (as in pix2pix)."""
    return norm != "batch"


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """pix2pix init: conv weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0."""

    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    net.apply(_init)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
