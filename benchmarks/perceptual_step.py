"""Time of one generator training step (forward, loss, backward) with model.lambda_perceptual
(VGG16-bn features on the decoded RGB, DDColor's five layers) against the L1 step alone, in
one run. The VGG weights are random (written to a temp file): the cost is the same as with
torchvision's ImageNet weights, and nothing is downloaded.

    python benchmarks/perceptual_step.py                  # unet_64, batch 16, 64 px, CPU
    python benchmarks/perceptual_step.py --size 128 --threads 2
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from step_timing import netG_config, step_args, time_steps
from torchvision.models.vgg import cfgs, make_layers

from colorgan.color import ColorSpace
from colorgan.models.gan_module import build_generator
from colorgan.models.perceptual import DEFAULT_LAYERS, PerceptualLoss, layer_names


def main() -> None:
    a = step_args(__doc__)
    net = build_generator(netG_config(a.netG), "lab", None)
    cs = ColorSpace("lab")
    real_A, real_B = cs.encode(torch.rand(a.batch, 3, a.size, a.size))
    needed = max(layer_names().index(n) for n in DEFAULT_LAYERS) + 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vgg16_bn_features.pt"
        torch.save({f"features.{k}": v for k, v in
                    make_layers(cfgs["D"], batch_norm=True)[:needed].state_dict().items()}, path)
        perceptual = PerceptualLoss(weights=str(path)).load()

    def l1_step():
        (net(real_A) - real_B).abs().mean().backward()

    def perceptual_step():
        fake_B = net(real_A)
        loss = (fake_B - real_B).abs().mean()
        loss = loss + perceptual(cs.decode(real_A, fake_B), cs.decode(real_A, real_B))
        loss.backward()

    time_steps(a, [("L1 (baseline)", l1_step),
                   ("L1 + perceptual (VGG16-bn to conv5_1)", perceptual_step)])


if __name__ == "__main__":
    main()
