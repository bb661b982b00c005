import pytest
import torch

from colorgan.color import (
    ColorSpace,
    check_chroma_center,
    check_chroma_gain,
    lab_norm_to_rgb,
    recombine_full_resolution,
    rgb_to_lab_norm,
    scale_ab,
    unscale_ab,
)


def test_lab_round_trip_within_one_level():
    rgb = torch.rand(4, 3, 33, 47, generator=torch.Generator().manual_seed(0))
    L, ab = rgb_to_lab_norm(rgb)
    assert L.shape == (4, 1, 33, 47) and ab.shape == (4, 2, 33, 47)
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() <= 1.1
    back = lab_norm_to_rgb(L, ab)
    assert (back - rgb).abs().max() < 1 / 255


def test_normalisation_constants():
    white = torch.ones(1, 3, 2, 2)
    L, ab = rgb_to_lab_norm(white)
    assert torch.allclose(L, torch.ones_like(L), atol=1e-3)  # L = 100 -> 1
    assert ab.abs().max() < 1e-3
    black = torch.zeros(1, 3, 2, 2)
    assert torch.allclose(rgb_to_lab_norm(black)[0], -torch.ones(1, 1, 2, 2), atol=1e-3)


@pytest.mark.parametrize("mode,out_ch", [("lab", 2), ("rgb", 3)])
def test_color_space_encode_decode(mode, out_ch):
    cs = ColorSpace(mode)
    rgb = torch.rand(2, 3, 16, 16)
    real_A, real_B = cs.encode(rgb)
    assert real_A.shape == (2, 1, 16, 16) and real_B.shape == (2, out_ch, 16, 16)
    assert real_A.min() >= -1 and real_A.max() <= 1
    assert (cs.decode(real_A, real_B) - rgb).abs().max() < 1 / 255
    gray = cs.gray_rgb(real_A)
    # the gray baseline has no colour: all three channels equal (up to conversion error)
    assert (gray.max(1).values - gray.min(1).values).max() < 2 / 255
    assert cs.chroma(real_A, real_B).shape == (2, 2, 16, 16)


@pytest.mark.parametrize("mode", ["lab", "rgb"])
def test_chroma_gain_scales_ab_and_keeps_lightness(mode):
    cs = ColorSpace(mode)
    rgb = 0.4 + 0.2 * torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))  # muted:
    # 1.5x its chroma stays inside the sRGB gamut, so decoding clips nothing
    real_A, real_B = cs.encode(rgb)
    assert cs.scale_chroma(real_A, real_B, 1.0) is real_B
    L, ab = rgb_to_lab_norm(cs.decode(real_A, real_B))
    for gain in (0.0, 0.5, 1.5):
        L_g, ab_g = rgb_to_lab_norm(cs.decode(real_A, cs.scale_chroma(real_A, real_B, gain)))
        assert (L_g - L).abs().max() < 0.01  # lightness unchanged
        assert (ab_g - gain * ab).abs().max() < 0.01  # chroma times the gain
    assert (cs.scale_chroma(real_A, real_B, 1e3).abs() <= 1).all()  # clamped to the range


@pytest.mark.parametrize("mode", ["lab", "rgb"])
def test_image_centred_gain_stretches_about_each_images_mean_chroma(mode):
    cs = ColorSpace(mode)
    gen = torch.Generator().manual_seed(2)
    rgb = 0.45 + 0.1 * torch.rand(2, 3, 8, 8, generator=gen)  # muted: 1.5x stays in gamut
    rgb[1, 0] += 0.05  # the second image has a reddish cast
    real_A, real_B = cs.encode(rgb)
    L, ab = rgb_to_lab_norm(cs.decode(real_A, real_B))
    mean = ab.mean(dim=(2, 3), keepdim=True)  # (B, 2, 1, 1): each image's own
    for gain in (0.0, 0.5, 1.5):
        out = cs.scale_chroma(real_A, real_B, gain, "image")
        L_g, ab_g = rgb_to_lab_norm(cs.decode(real_A, out))
        assert (L_g - L).abs().max() < 0.01  # lightness unchanged
        assert (ab_g - (mean + gain * (ab - mean))).abs().max() < 0.01
        assert (ab_g.mean(dim=(2, 3), keepdim=True) - mean).abs().max() < 0.01  # cast kept
    # gain 0 about the image's mean is a flat tint of that mean, not gray
    flat = rgb_to_lab_norm(cs.decode(real_A, cs.scale_chroma(real_A, real_B, 0.0, "image")))[1]
    assert flat.std(dim=(2, 3)).max() < 0.01 and flat[1].abs().mean() > 0.02


@pytest.mark.parametrize("center", ["zero", "image"])
def test_unscale_ab_inverts_the_gain(center):
    ab = 0.3 * torch.randn(3, 2, 6, 6, generator=torch.Generator().manual_seed(3)).clamp(-1, 1)
    for gain in (0.5, 1.7):
        torch.testing.assert_close(unscale_ab(scale_ab(ab, gain, center), gain, center), ab)


def test_bad_chroma_center_names_the_option():
    with pytest.raises(ValueError, match=r"--chroma-center='mean': choose one of \['zero', 'image'\]"):
        check_chroma_center("mean", "--chroma-center")
    assert check_chroma_center("image") == "image"


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "vivid"])
def test_bad_chroma_gain_names_the_option(bad):
    with pytest.raises(ValueError, match=r"--chroma-gain=.*must be a number >= 0"):
        check_chroma_gain(bad, "--chroma-gain")
    assert check_chroma_gain("1.25") == 1.25


def test_unknown_color_space_names_option():
    with pytest.raises(ValueError, match="model.color_space='yuv'"):
        ColorSpace("yuv")


def test_recombine_keeps_full_resolution_luminance():
    rgb = torch.rand(1, 3, 72, 128)
    L, ab = rgb_to_lab_norm(rgb)
    small_ab = torch.nn.functional.interpolate(ab, size=(16, 16), mode="area")
    out = recombine_full_resolution(L, small_ab)
    assert out.shape == (1, 3, 72, 128)
    L_out, _ = rgb_to_lab_norm(out)
    assert (L_out - L).abs().mean() < 0.02  # luminance detail kept at full size
