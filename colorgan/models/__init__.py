"""Networks and the LightningModule. ``ColorizationGAN`` is imported on first use (PEP 562),
so building or loading a network (``colorgan.models.build``) imports no Lightning or Hydra."""
from typing import Any

from colorgan.models.build import build_generator
from colorgan.models.discriminators import NLayerDiscriminator, PixelDiscriminator
from colorgan.models.resnet import ResnetGenerator
from colorgan.models.unet import UNetGenerator

__all__ = ["ColorizationGAN", "build_generator", "UNetGenerator", "ResnetGenerator",
           "NLayerDiscriminator", "PixelDiscriminator"]


def __getattr__(name: str) -> Any:
    if name == "ColorizationGAN":
        from colorgan.models.gan_module import ColorizationGAN

        return ColorizationGAN
    raise AttributeError(f"module 'colorgan.models' has no attribute {name!r}")
