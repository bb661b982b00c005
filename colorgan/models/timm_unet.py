"""U-Net whose encoder is any timm model with ``features_only=True`` (resnet34, resnet101,
convnext_tiny, efficientnet_b0, ...), the decoder built from the feature shapes timm reports.

DeOldify's pretrained-encoder U-Net (Antic 2019, fastai's DynamicUnet) with the decoder blocks
of segmentation_models_pytorch. Channel 0 of the input is given to the encoder as normalised
RGB; channels 1.. (temporal) through a zero-initialised 1x1 conv. Output: tanh.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from colorgan.models.layers import conv_bias, norm_layer
from colorgan.models.pretrained import create_encoder

INPUT_SKIP = -1  # a stage whose skip is the network's input
NO_SKIP = -2


class DecoderBlock(nn.Module):
    """x2 nearest upsampling, concat the skip, two conv3x3-norm-ReLU."""

    def __init__(self, cin: int, skip: int, cout: int, norm: str) -> None:
        super().__init__()
        Norm, bias = norm_layer(norm), conv_bias(norm)
        self.conv = nn.Sequential(
            nn.Conv2d(cin + skip, cout, 3, 1, 1, bias=bias), Norm(cout), nn.ReLU(True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=bias), Norm(cout), nn.ReLU(True))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2h, 2w)
        return self.conv(x if skip is None else torch.cat([x, skip], dim=1))


def default_widths(stages: int) -> list[int]:
    """segmentation_models_pytorch's 256, 128, 64, 32, 16 (halving, at least 16)."""
    return [max(16, 256 >> i) for i in range(stages)]


class TimmUNet(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 2, encoder: str = "resnet34",
                 pretrained: bool | str = False, decoder_widths: Sequence[int] | None = None,
                 norm: str = "batch") -> None:
        super().__init__()
        self.encoder_name = str(encoder)
        self.encoder = create_encoder(self.encoder_name, pretrained)
        channels = list(self.encoder.feature_info.channels())
        reductions = [int(r) for r in self.encoder.feature_info.reduction()]
        deepest = reductions[-1]
        if any(r & (r - 1) for r in reductions) or deepest < 2:
            raise ValueError(f"model.netG.encoder={encoder}: its feature strides {reductions} "
                             "are not powers of two; pick a convolutional encoder (resnet34, "
                             "convnext_tiny, efficientnet_b0).")
        self.size_multiple = deepest  # input H, W must divide by this
        stage_reductions = [deepest >> (i + 1) for i in range(deepest.bit_length() - 1)]
        widths = list(decoder_widths) if decoder_widths else default_widths(len(stage_reductions))
        if len(widths) != len(stage_reductions):
            raise ValueError(f"model.netG.decoder_widths={widths}: {encoder} (stride "
                             f"{deepest}) needs {len(stage_reductions)} widths, one per x2 "
                             "upsampling, deepest first (or null for the default).")
        last_at = {r: i for i, r in enumerate(reductions)}  # the deepest feature per stride
        self.skip_index: list[int] = []
        self.blocks = nn.ModuleList()
        cin = channels[-1]
        for r, w in zip(stage_reductions, widths):
            idx = INPUT_SKIP if r == 1 else last_at.get(r, NO_SKIP)
            skip = in_channels if idx == INPUT_SKIP else (channels[idx] if idx >= 0 else 0)
            self.skip_index.append(idx)
            self.blocks.append(DecoderBlock(cin, skip, int(w), norm))
            cin = int(w)
        self.head = nn.Sequential(nn.Conv2d(cin, out_channels, 3, 1, 1), nn.Tanh())
        self.bottleneck = nn.Identity()  # the deepest feature passes here (class guidance hook)
        self.bottleneck_channels = channels[-1]
        cfg = getattr(self.encoder, "pretrained_cfg", None) or {}
        mean, std = cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.extra = None
        if in_channels > 1:  # temporal: the previous ab, added to the RGB the encoder sees
            self.extra = nn.Conv2d(in_channels - 1, 3, 1)
            nn.init.zeros_(self.extra.weight)
            nn.init.zeros_(self.extra.bias)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The pretrained part (model.encoder.freeze_epochs, model.encoder.lr_mult)."""
        return list(self.encoder.parameters())

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) in [-1, 1] -> (B, 3, H, W) normalised as the encoder expects."""
        rgb = ((x[:, :1] + 1.0) * 0.5).expand(-1, 3, -1, -1)
        rgb = (rgb - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return rgb if self.extra is None else rgb + self.extra(x[:, 1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H, W)
        H, W = x.shape[-2:]
        if H % self.size_multiple or W % self.size_multiple:
            raise ValueError(f"TimmUNet({self.encoder_name}) got {H}x{W} images: its stride "
                             f"needs sizes divisible by {self.size_multiple}. Set "
                             f"data.image_size to a multiple of {self.size_multiple}.")
        feats = self.encoder(self.encoder_input(x))  # shallow to deep, (B, C_i, H/r_i, W/r_i)
        y = self.bottleneck(feats[-1])
        for block, idx in zip(self.blocks, self.skip_index):
            y = block(y, x if idx == INPUT_SKIP else (feats[idx] if idx >= 0 else None))
        return self.head(y)


__all__ = ["DecoderBlock", "TimmUNet", "default_widths"]
