"""Networks and the LightningModule."""
from colorgan.models.discriminators import NLayerDiscriminator, PixelDiscriminator
from colorgan.models.gan_module import ColorizationGAN, build_generator
from colorgan.models.resnet import ResnetGenerator
from colorgan.models.unet import UNetGenerator

__all__ = ["ColorizationGAN", "build_generator", "UNetGenerator", "ResnetGenerator",
           "NLayerDiscriminator", "PixelDiscriminator"]
