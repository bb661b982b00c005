"""Hint-conditioned generators (model.hints): the input layout, simulated hints, training."""
from __future__ import annotations

import pytest
import torch

from colorgan.hints.encode import pack, palette, palette_dim, patch_planes
from colorgan.hints.simulate import HintSampler, eval_boxes, hint_sampler
from colorgan.models.build import build_generator
from colorgan.train import train
from tests.conftest import TINY, make_cfg

UNET = {"_target_": "colorgan.models.unet.unet_32", "ngf": 8}
RESNET = {"_target_": "colorgan.models.resnet.resnet_6blocks", "ngf": 8}
ON = {"enabled": True}


def test_eval_points_are_fixed_by_name_and_seed_and_nested():
    a = eval_boxes("x/photo1.jpg", 0, 10, 64, 48)
    assert a == eval_boxes("x/photo1.jpg", 0, 10, 64, 48)  # same places every run
    assert eval_boxes("x/photo1.jpg", 0, 5, 64, 48) == a[:5]  # 5 points are the first of 10
    assert a != eval_boxes("x/photo2.jpg", 0, 10, 64, 48)
    assert a != eval_boxes("x/photo1.jpg", 1, 10, 64, 48)
    assert all(0 <= y0 < y1 <= 64 and 0 <= x0 < x1 <= 48 and y1 - y0 == 3 for y0, x0, y1, x1 in a)
    with pytest.raises(ValueError, match="hints.points=-1"):
        eval_boxes("a", 0, -1, 8, 8)


def test_patch_hint_is_the_mean_colour_of_the_true_patch():
    ab = torch.zeros(1, 2, 8, 8)
    ab[0, 0, 2:4, 2:4] = torch.tensor([[0.1, 0.3], [0.5, 0.7]])
    planes = patch_planes(ab, [[(2, 2, 4, 4)]])
    assert torch.allclose(planes[0, 0, 2:4, 2:4], torch.full((2, 2), 0.4))
    assert planes[0, 2].sum() == 4 and planes[0, 2, 2:4, 2:4].eq(1).all()
    assert planes[0, :, :2].abs().sum() == 0  # nothing outside the patch


def test_palette_is_a_histogram_with_saturation_and_flag():
    gray = palette(torch.zeros(2, 2, 16, 16))
    assert gray.shape == (2, palette_dim())
    assert torch.allclose(gray[:, :-2].sum(1), torch.ones(2))
    assert gray[:, -2].abs().max() == 0 and gray[:, -1].eq(1).all()  # no chroma, given
    red = torch.zeros(1, 2, 4, 4)
    red[:, 0] = 0.5  # a = +55
    assert palette(red)[0, -2] == pytest.approx(0.5)
    assert palette(red)[0, :-2].argmax() != gray[0, :-2].argmax()


def test_sampler_is_seeded_and_its_options_are_checked():
    ab = torch.rand(4, 2, 32, 32) - 0.5
    torch.manual_seed(3)
    a = HintSampler(empty_share=0.0, global_prob=1.0)(ab)
    torch.manual_seed(3)
    b = HintSampler(empty_share=0.0, global_prob=1.0)(ab)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    planes, glob = a
    assert planes[:, 2].flatten(1).sum(1).gt(0).all()  # every image got points
    assert glob[:, -1].eq(1).all()  # and a palette
    planes, glob = HintSampler(empty_share=1.0, global_prob=0.0)(ab)
    assert planes.abs().sum() == 0 and glob.abs().sum() == 0  # the automatic colorizer's share
    assert HintSampler().patch_side(256) == 9 and HintSampler().patch_side(64) == 3
    with pytest.raises(ValueError, match="model.hints.p=0"):
        HintSampler(p=0)
    with pytest.raises(ValueError, match="unknown option.*'points'"):
        hint_sampler({"enabled": True, "points": 3})
    assert hint_sampler({"enabled": False}) is None


@pytest.mark.parametrize("net", [UNET, RESNET], ids=["unet", "resnet"])
def test_hint_generator_reads_points_and_palette(net):
    g = build_generator(net, "lab", None, None, hints=ON).eval()
    x = torch.randn(2, 1, 32, 32)
    glob = palette(torch.randn(2, 2, 32, 32) * 0.3)
    with torch.no_grad():
        # the palette's last layer starts at zero: a fresh model is the automatic colorizer
        assert torch.equal(g(pack(x)), g(pack(x, None, glob)))
        torch.nn.init.normal_(g.global_net[2].weight)
        assert not torch.allclose(g(pack(x)), g(pack(x, None, glob)))
        planes = patch_planes(torch.full((2, 2, 32, 32), 0.5), [[(4, 4, 8, 8)]] * 2)
        assert not torch.allclose(g(pack(x)), g(pack(x, planes)))
    with pytest.raises(ValueError, match="input channels"):
        g(x)  # an input without the hint channels is named, not a shape error deep inside


def test_hints_compose_with_classification_and_refuse_rgb():
    g = build_generator(UNET, "lab", None, {"enabled": True}, hints=ON).eval()
    assert type(g).__name__ == "BinnedGenerator" and type(g.net).__name__ == "HintGenerator"
    assert g(pack(torch.randn(1, 1, 32, 32))).shape == (1, 2, 32, 32)
    with pytest.raises(ValueError, match="model.color_space=lab"):
        build_generator(UNET, "rgb", None, None, hints=ON)


@pytest.mark.parametrize("extra", [
    ["model=unet_gan"],  # pix2pix with netD
    ["model=unet_mse", "model.ema.enabled=true", "model.tta_flip=true"],
    ["model=resnet_gan", "model/netG=resnet_6", "model.netG.ngf=8"],
    ["model=unet_gan", "model.classification.enabled=true", "model.classification.prior_images=16"],
], ids=["pix2pix", "regression-ema-flip", "resnet", "classification"])
def test_hint_models_train_and_validate(tmp_path, extra):
    cfg = make_cfg(tmp_path, TINY + extra + ["model.hints.enabled=true",
                                             "model.hints.empty_share=0.0"])
    metrics, _ = train(cfg)
    assert metrics["val/psnr"] > 0
    ckpt = torch.load(next((tmp_path / "run" / "checkpoints").glob("last.ckpt")),
                      map_location="cpu", weights_only=False)
    assert ckpt["hyper_parameters"]["hints"]["enabled"] is True
    assert any("global_net" in k for k in ckpt["state_dict"])
