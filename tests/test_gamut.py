"""Gamut mapping (colorgan.color.map_into_gamut): a colour outside sRGB keeps its L and hue
and loses only chroma, where the per-channel clip it replaced turned both."""
import math

import pytest
import torch
from kornia.color import rgb_to_lab

from colorgan.color import (
    ColorSpace,
    clamp_chroma,
    denormalize_ab,
    denormalize_l,
    lab_norm_to_rgb,
    map_into_gamut,
    recombine_full_resolution,
    rgb_to_lab_norm,
    scale_ab,
)


def photo_lab(seed: int = 0, size: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """A random colour image's normalised L (1, 1, s, s) and ab (1, 2, s, s)."""
    rgb = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return rgb_to_lab_norm(rgb)


def hue_error_deg(ab: torch.Tensor, lab: torch.Tensor, min_chroma: float = 2.0) -> torch.Tensor:
    """|hue of lab's (a, b) - hue of ab| in degrees, where both have some chroma."""
    want = torch.atan2(ab[:, 1], ab[:, 0])
    got = torch.atan2(lab[:, 2], lab[:, 1])
    d = torch.remainder(got - want + math.pi, 2 * math.pi) - math.pi
    keep = torch.hypot(lab[:, 1], lab[:, 2]) > min_chroma
    return d.abs()[keep] * 180 / math.pi


def test_a_gained_prediction_keeps_its_lightness_and_hue_where_the_clip_did_not():
    L, ab = photo_lab()
    gained = denormalize_ab(ab) * 3.0  # (1, 2, s, s) far outside sRGB for most pixels
    for path, ok in (("map", True), ("clip", False)):
        rgb = lab_norm_to_rgb(L, gained / 110.0, path)
        assert rgb.min() >= 0 and rgb.max() <= 1
        back = rgb_to_lab(rgb)  # (1, 3, s, s) re-encoded
        dL = (back[:, 0] - denormalize_l(L)[:, 0]).abs()
        dh = hue_error_deg(gained, back)
        if ok:
            assert dL.max() < 0.1 and dh.max() < 1.0, (dL.max(), dh.max())
        else:  # what the mapping fixes: the clip moves L by several units and hue by degrees
            assert dL.max() > 5 and dh.max() > 10, (dL.max(), dh.max())


def test_the_mapped_chroma_is_at_the_gamuts_edge_not_below_it():
    L, ab = photo_lab(1)
    lab = torch.cat([denormalize_l(L), denormalize_ab(ab) * 3.0], 1)
    rgb = map_into_gamut(lab)
    C_in = torch.hypot(lab[:, 1], lab[:, 2])
    back = rgb_to_lab(rgb)
    C_out = torch.hypot(back[:, 1], back[:, 2])
    assert (C_out <= C_in + 0.05).all()  # never more colour than asked for
    # at the edge: one channel at 0 or 1 wherever the chroma was cut
    cut = C_out < C_in - 1.0
    assert cut.float().mean() > 0.5
    edge = torch.minimum(rgb.amin(1), 1 - rgb.amax(1))  # (1, s, s) distance to the cube's face
    assert edge[cut].max() < 0.03  # sRGB: steep near 0, s is found to 2^-10
    # and 10% more chroma on a cut pixel would leave the gamut (the scale is the largest one)
    more = torch.cat([lab[:, :1], lab[:, 1:] * (C_out / C_in * 1.1)[:, None]], 1)
    from kornia.color import lab_to_rgb
    raw = lab_to_rgb(more, clip=False)
    outside = ((raw < -1e-4) | (raw > 1 + 1e-4)).any(1)
    assert outside[cut].float().mean() > 0.99


def test_in_gamut_colours_are_decoded_exactly_as_before():
    L, ab = photo_lab(2, 33)  # every pixel of a real RGB image is inside sRGB
    assert torch.equal(lab_norm_to_rgb(L, ab), lab_norm_to_rgb(L, ab, "clip"))
    mixed = ab.clone()
    mixed[..., :10, :] *= 4  # some rows outside: the other pixels are still untouched
    a, b = lab_norm_to_rgb(L, mixed), lab_norm_to_rgb(L, ab)
    assert torch.equal(a[..., 10:, :], b[..., 10:, :])
    assert not torch.equal(a[..., :10, :], lab_norm_to_rgb(L, mixed, "clip")[..., :10, :])


def test_gray_stays_gray_at_every_lightness():
    L = torch.linspace(-1, 1, 201).view(1, 1, 1, 201)
    rgb = lab_norm_to_rgb(L, torch.zeros(1, 2, 1, 201))
    assert (rgb.amax(1) - rgb.amin(1)).max() < 1e-4
    assert torch.equal(rgb, lab_norm_to_rgb(L, torch.zeros(1, 2, 1, 201), "clip"))
    # a tiny chroma at the ends of the L axis (black, white: no room) goes to gray, not a tint
    near = lab_norm_to_rgb(L, torch.full((1, 2, 1, 201), 0.3))
    assert (near[..., [0, -1]].amax(1) - near[..., [0, -1]].amin(1)).max() < 1 / 255


def test_clamp_chroma_keeps_the_hue_of_an_overlong_ab():
    ab = torch.tensor([[3.0, -1.5], [0.2, 0.1]]).T.reshape(1, 2, 1, 2)  # pixel 0 too long
    out = clamp_chroma(ab)
    assert out.abs().max() <= 1
    assert torch.allclose(out[..., 0], ab[..., 0] / 3.0) and torch.equal(out[..., 1], ab[..., 1])
    assert torch.equal(scale_ab(ab, 2.0), clamp_chroma(ab * 2.0))


def test_every_decode_goes_through_the_mapping():
    L, ab = photo_lab(3, 16)
    far = ab * 3
    mapped = lab_norm_to_rgb(L, far)
    assert torch.equal(ColorSpace("lab").decode(L, far), mapped)
    assert torch.equal(recombine_full_resolution(L, far), mapped)  # photos, films (lab)
    # RGB mode's gain re-decodes through Lab: the gained colour is mapped too
    rgb_cs = ColorSpace("rgb")
    real_A, real_B = rgb_cs.encode(lab_norm_to_rgb(L, ab))
    out = rgb_cs.decode(real_A, rgb_cs.scale_chroma(real_A, real_B, 3.0))
    back = rgb_to_lab(out)
    assert hue_error_deg(denormalize_ab(ab), back).median() < 1.0


def test_gradients_flow_through_the_mapped_chroma():
    L, ab = photo_lab(4, 8)
    ab = (ab * 3).requires_grad_()
    lab_norm_to_rgb(L, ab).sum().backward()
    assert ab.grad is not None and ab.grad.abs().sum() > 0


def test_an_unknown_gamut_path_is_named():
    L, ab = photo_lab(5, 4)
    with pytest.raises(ValueError, match="gamut='bogus'"):
        lab_norm_to_rgb(L, ab, "bogus")
