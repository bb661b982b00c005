"""Perceptual (feature) loss on the decoded RGB: L1 between VGG16-bn features of the
colorization and of the ground truth (Johnson et al. 2016, arXiv:1603.08155), with DDColor's
settings (Kang et al. 2023, arXiv:2212.11613). The VGG is frozen, in float32, and not a
sub-module of the model: its weights stay out of checkpoints; built when training starts.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.models import VGG16_BN_Weights
from torchvision.models.vgg import cfgs, make_layers

from colorgan.color import full_precision

# DDColor's options/train/train_ddcolor.yml (perceptual_opt, basicsr's PerceptualLoss): vgg16_bn,
# ImageNet input norm, criterion l1, these conv outputs (before BN) and weights
DEFAULT_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
DEFAULT_LAYER_WEIGHTS = (0.0625, 0.125, 0.25, 0.5, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OPTION = "model.perceptual"


def layer_names() -> list[str]:
    """basicsr's names of ``vgg16_bn().features``, index by index: conv1_1, bn1_1, relu1_1, ..."""
    names = []
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"bn{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def check_layers(layers, layer_weights) -> tuple[list[int], list[float]]:
    """Layer names -> their feature indices, with one weight each (errors name the option)."""
    names = layer_names()
    layers = list(layers or [])
    weights = [float(w) for w in (layer_weights or [])]
    unknown = [n for n in layers if n not in names]
    if not layers or unknown:
        raise ValueError(f"{OPTION}.layers={layers}: {'unknown ' + str(unknown) if unknown else 'empty'}"
                         f"; use vgg16_bn layer names such as {list(DEFAULT_LAYERS)} "
                         "(convN_M, bnN_M, reluN_M, poolN).")
    if len(weights) != len(layers):
        raise ValueError(f"{OPTION}.layer_weights={weights} needs one weight per layer of "
                         f"{OPTION}.layers={layers}.")
    return [names.index(n) for n in layers], weights


def load_state_dict(path: str | None, needed: int) -> dict[str, torch.Tensor]:
    """``features.<i>.*`` tensors for i < ``needed``: from ``path`` (a state dict of torchvision's
    vgg16_bn, whole or only its first feature layers) or torchvision's ImageNet download."""
    if path:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"{OPTION}.weights={path}: no such file. Pass the path of a "
                                    "state dict of torchvision's vgg16_bn (vgg16_bn-6c64b313.pth).")
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ValueError(f"{OPTION}.weights={path} is not a readable state dict ({e}).") from e
    else:
        try:
            state = VGG16_BN_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        except (OSError, RuntimeError) as e:  # URLError offline, a bad hash
            raise ValueError(
                "model.lambda_perceptual>0 needs VGG16-bn weights: torchvision's "
                f"{VGG16_BN_Weights.IMAGENET1K_V1.url} could not be downloaded ({e}); pass "
                f"{OPTION}.weights=PATH (a state dict of torchvision's vgg16_bn) or run once "
                "online.") from e
    if not isinstance(state, dict):
        raise ValueError(f"{OPTION}.weights={path} holds a {type(state).__name__}, not a state dict.")
    expected = make_layers(cfgs["D"], batch_norm=True)[:needed].state_dict().keys()
    # the ImageNet file predates BatchNorm's num_batches_tracked; BatchNorm fills it in
    found = {f"features.{k}" for k in expected if not k.endswith("num_batches_tracked")}
    missing = sorted(found - set(state), key=lambda k: (int(k.split(".")[1]), k))
    if missing:
        raise ValueError(f"{OPTION}.weights={path}: not a vgg16_bn state dict for these layers; "
                         f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''} "
                         f"(it has {sorted(state)[:4]}{' ...' if len(state) > 4 else ''}). "
                         "Pass torchvision's vgg16_bn state dict (keys features.0.weight, ...).")
    return {k[len("features."):]: state[k] for k in found}  # features.<i>.* -> <i>.*


class PerceptualLoss:
    """sum_l w_l * L1(VGG_l(fake), VGG_l(real)) on RGB in [0, 1], ImageNet-normalised; a plain
    object (never saved, moved or put in train mode by Lightning), on the input's device."""

    def __init__(self, layers=DEFAULT_LAYERS, layer_weights=DEFAULT_LAYER_WEIGHTS,
                 weights: str | None = None) -> None:
        self.indices, self.layer_weights = check_layers(layers, layer_weights)
        self.weights_path = weights
        self.net: torch.nn.Sequential | None = None

    def load(self) -> PerceptualLoss:
        """Build the frozen features up to the last layer used (once)."""
        if self.net is None:
            needed = max(self.indices) + 1
            net = make_layers(cfgs["D"], batch_norm=True)[:needed]  # vgg16_bn().features[:needed]
            net.load_state_dict(load_state_dict(self.weights_path, needed))
            net.requires_grad_(False).eval()
            self.net = net
            self.mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            self.std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return self

    def features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) in [0, 1] -> the chosen layers' outputs, (B, C_l, H_l, W_l) each."""
        x = (rgb.float() - self.mean) / self.std
        out: dict[int, torch.Tensor] = {}
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i in self.indices:
                out[i] = x
        return [out[i] for i in self.indices]

    @full_precision  # VGG in float32 under bf16/16-mixed, like colour and metrics
    def __call__(self, fake_rgb: torch.Tensor, real_rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) twice -> () the weighted L1 of their features; gradients reach fake_rgb."""
        self.load()
        if self.mean.device != fake_rgb.device:
            self.net.to(fake_rgb.device)
            self.mean, self.std = self.mean.to(fake_rgb.device), self.std.to(fake_rgb.device)
        with torch.no_grad():
            target = self.features(real_rgb)
        pred = self.features(fake_rgb)
        return sum(w * F.l1_loss(p, t) for w, p, t in zip(self.layer_weights, pred, target))


def build_perceptual(lambda_perceptual: float, cfg: dict | None) -> PerceptualLoss | None:
    """``model.lambda_perceptual`` and ``model.perceptual`` -> the loss, or None when off."""
    if float(lambda_perceptual) < 0:
        raise ValueError(f"model.lambda_perceptual={lambda_perceptual} must be >= 0 (0 = off; "
                         "DDColor uses 5 next to L1 x 0.1).")
    if float(lambda_perceptual) == 0:
        return None
    cfg = dict(cfg or {})
    return PerceptualLoss(cfg.get("layers") or DEFAULT_LAYERS,
                          cfg.get("layer_weights") or DEFAULT_LAYER_WEIGHTS, cfg.get("weights"))


__all__ = ["DEFAULT_LAYERS", "DEFAULT_LAYER_WEIGHTS", "PerceptualLoss", "build_perceptual",
           "layer_names"]
