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
