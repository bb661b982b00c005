import pytest
import torch

from colorgan.models.discriminators import PixelDiscriminator, patchgan_basic, patchgan_small
from colorgan.models.layers import count_parameters
from colorgan.models.resnet import resnet_6blocks, resnet_9blocks
from colorgan.models.unet import UNetGenerator, unet_32, unet_64, unet_128, unet_256


@pytest.mark.parametrize("factory,size", [(unet_256, 256), (unet_128, 128), (unet_64, 64),
                                          (unet_32, 32)])
def test_unet_presets_shape(factory, size):
    net = factory(1, 2).eval()
    with torch.no_grad():
        y = net(torch.randn(1, 1, size, size))
    assert y.shape == (1, 2, size, size)
    assert y.abs().max() <= 1  # tanh output
    assert net.size_multiple == size  # each preset squeezes its size to 1x1


def test_unet_256_parameter_count_matches_pix2pix():
    assert abs(count_parameters(unet_256(1, 2)) - 54.4e6) < 0.05e6


def test_unet_64_design():
    net = unet_64(1, 2)
    assert net.widths == [32, 64, 128, 256, 256, 256, 256] and net.first_stride == 1
    assert net.down[0].stride == (1, 1)
    drops = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(p == 0.3 for p in drops)


def test_unet_parameterised_by_norm_and_dropout():
    net = UNetGenerator(3, 3, num_downs=4, ngf=8, norm="instance", dropout=0.0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="norm='group'"):
        UNetGenerator(1, 2, num_downs=4, norm="group")


def test_weight_init_is_pix2pix_normal():
    w = unet_128(1, 2).down[3][1].weight
    assert abs(w.mean().item()) < 2e-3 and abs(w.std().item() - 0.02) < 2e-3


@pytest.mark.parametrize("factory,blocks", [(resnet_6blocks, 6), (resnet_9blocks, 9)])
def test_resnet_generators(factory, blocks):
    net = factory(1, 2, ngf=16)
    assert sum(type(m).__name__ == "ResnetBlock" for m in net.modules()) == blocks
    assert net(torch.randn(1, 1, 48, 48)).shape == (1, 2, 48, 48)


def test_discriminator_output_maps():
    assert patchgan_basic(3)(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert patchgan_small(3)(torch.randn(1, 3, 64, 64)).shape == (1, 1, 8, 8)
    assert PixelDiscriminator(3)(torch.randn(2, 3, 64, 64)).shape == (2, 1, 64, 64)


def _dropout_blocks(net: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.Dropout) for m in net.modules())


# pix2pix's UnetGenerator builds num_downs - 5 dropout blocks (3 for unet_256, 2 for unet_128);
# unet_64 and unet_32 are colorgan designs with their own counts
REFERENCE_DROPOUT = {"unet_256": 3, "unet_128": 2, "unet_64": 3, "unet_32": 2}


@pytest.mark.parametrize("name", sorted(REFERENCE_DROPOUT))
def test_unet_presets_have_the_reference_dropout_blocks(name):
    from omegaconf import OmegaConf

    from colorgan.models import unet
    from colorgan.utils.config import CONFIG_DIR

    cfg = OmegaConf.load(CONFIG_DIR / "model" / "netG" / f"{name}.yaml")
    cfg.pop("_target_")
    yaml_net = UNetGenerator(1, 2, **{**cfg, "ngf": 4} if "ngf" in cfg else cfg)
    factory_net = getattr(unet, name)(1, 2)
    assert _dropout_blocks(yaml_net) == _dropout_blocks(factory_net) == REFERENCE_DROPOUT[name]


def test_unet_default_dropout_follows_pix2pix_rule():
    for num_downs in (5, 6, 7, 8, 9):
        net = UNetGenerator(1, 2, num_downs=num_downs, ngf=2)
        assert _dropout_blocks(net) == num_downs - 5
