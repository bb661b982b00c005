"""colorgan/predictor.py: one path from netG's output to the colour shown. Validation, eval
and colorize give the same colour for the same input; the gain, centre, flip and temperature
are the checkpoint's; extra input channels pass through untouched."""
from __future__ import annotations

import pytest
import torch
from conftest import OPT

from colorgan.color import ColorSpace
from colorgan.models.gan_module import ColorizationGAN
from colorgan.predictor import Predictor

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}


class Affine(torch.nn.Module):
    """(B, C_in, H, W) -> (B, 2, H, W): 0.1 x the first channel plus the last two (if any)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = 0.1 * x[:, :1].repeat(1, 2, 1, 1)
        return out + x[:, 1:3] if x.shape[1] >= 3 else out


def test_the_gain_centre_and_decode_are_color_pys():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 8, 8, generator=g) * 2 - 1
    p = Predictor(Affine(), "lab", chroma_gain=1.5, chroma_center="image")
    cs = ColorSpace("lab")
    want = cs.decode(x, cs.scale_chroma(x, Affine()(x), 1.5, "image"))
    torch.testing.assert_close(p.rgb(x), want)
    torch.testing.assert_close(p.ab(x), cs.scale_chroma(x, Affine()(x), 1.5, "image"))
    p.set_chroma_gain(0.0)
    p.set_chroma_center("zero")
    rgb = p.rgb(x)
    assert (rgb.max(1).values - rgb.min(1).values).max() < 1e-3  # gain 0 about zero: gray
    with pytest.raises(ValueError, match="chroma_gain=-1"):
        p.set_chroma_gain(-1, "chroma_gain")


def test_extra_input_channels_reach_the_net_and_real_a_is_the_l_channel():
    """A temporal (or hinted) input: the predictor passes every channel to netG and decodes
    with the L channel it is given."""
    x = torch.rand(1, 3, 8, 8) * 2 - 1  # L + two opaque channels
    p = Predictor(Affine(), "lab")
    torch.testing.assert_close(p.output(x), Affine()(x))
    other_L = torch.zeros(1, 1, 8, 8)
    assert not torch.allclose(p.rgb(x, other_L), p.rgb(x))


def test_temperature_applies_to_classification_models_only():
    p = Predictor(Affine(), "lab")
    assert not p.supports_temperature
    with pytest.raises(ValueError, match="temperature 0.5: this model predicts colour directly"):
        p.set_temperature(0.5, "temperature")
    assert p.with_temperature(None) is p


def test_validation_eval_and_colorize_give_the_same_colour(tmp_path):
    """A model's predictor and the Colorizer rebuilt from its checkpoint agree on the settings
    and on the colour of the same generator input."""
    from colorgan.colorize.colorizer import Colorizer

    torch.manual_seed(0)
    model = ColorizationGAN(netG=G, adversarial=False, **{
        **OPT, "tta_flip": True, "chroma_gain": 1.7, "chroma_center": "image",
        "ema": {"enabled": True, "decay": 0.9}, "train_image_size": 32}).eval()
    model.netG_ema.update_parameters(model.netG)
    torch.save({"hyper_parameters": {**dict(model.hparams), **model.predictor.settings()},
                "state_dict": model.state_dict()}, tmp_path / "m.ckpt")
    c = Colorizer.from_checkpoint(tmp_path / "m.ckpt", "cpu")
    assert c.predictor.settings() == model.predictor.settings()
    assert c.weights == model.predictor.weights == "ema"
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    torch.testing.assert_close(c.predict_ab(x), model.predictor.ab(x))
    batch = {"rgb": torch.rand(2, 3, 32, 32)}
    out = model.colorize_batch(batch)
    real_A = model.prepare_batch(batch)[0]
    torch.testing.assert_close(out["fake"], model.cs.decode(real_A, c.predict_ab(real_A)))


class Gray(torch.nn.Module):
    """Any input (B, C_in, H, W) -> ab = 0 (B, 2, H, W): a model that ignores its hints."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 2, *x.shape[2:])


def test_photos_with_points_mix_in_levins_fill_and_others_do_not():
    from colorgan.hints.encode import pack
    from colorgan.predictor import check_hint_mix, hint_channel

    L = torch.zeros(2, 1, 8, 48)  # flat mid gray: Levin's fill of one point is that point's colour
    planes = torch.zeros(2, 3, 8, 48)
    planes[0, :2, 3:5, 2:4] = torch.tensor([0.5, -0.25])[:, None, None]  # photo 0: one point
    planes[0, 2, 3:5, 2:4] = 1.0
    g_in = pack(L, planes)
    for mix in (0.0, 0.25, 1.0):
        p = Predictor(Gray(), "lab", chroma_gain=2.0, hint_channel=hint_channel(), hint_mix=mix)
        ab = p.ab(g_in, gain=False)
        torch.testing.assert_close(p.output(g_in), ab)  # eval and colorize agree
        want = torch.tensor([0.5, -0.25]) * mix  # at the point: its share of the point's colour
        torch.testing.assert_close(ab[0, :, 3:5, 2:4], want[:, None, None].expand(2, 2, 2),
                                   atol=1e-5, rtol=0)
        assert ab[0, 0, :, -1].abs().max() <= 0.05 * 0.5 * mix + 1e-6  # far away: left alone
        assert (ab[0, 0, 4, 4:].diff() <= 1e-6).all()  # fading with the distance
        assert ab[1].abs().max() == 0  # photo 1 has no point: the model's colour as predicted
    auto = Predictor(Gray(), "lab", hint_mix=1.0)  # not a hint model: nothing to mix
    assert auto.ab(g_in).abs().max() == 0
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ValueError, match="hints.mix"):
            check_hint_mix(bad, "hints.mix")
