"""colorgan.colorize.carry: a reference frame's colour moved with the content by optical flow."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from colorgan.color import rgb_to_gray, rgb_to_lab_norm, uint8_to_float
from colorgan.colorize.carry import ShotCarrier, carry_size, small_gray


def scene(shift: int, size: int = 96) -> torch.Tensor:
    """uint8 (3, H, W): a textured gray background and a red square shifted right by ``shift``."""
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 1, size // 8, size // 8, generator=g)
    bg = torch.nn.functional.interpolate(tex, size=(size, size), mode="bilinear")[0]
    img = (0.3 + 0.4 * bg).expand(3, -1, -1).clone()
    y0, x0 = 30, 20 + shift
    img[:, y0:y0 + 24, x0:x0 + 24] = torch.tensor([0.8, 0.15, 0.1])[:, None, None]
    return (img * 255).round().byte()


def test_the_colour_of_a_moving_square_follows_it():
    ref = scene(0)
    c = ShotCarrier(ref)
    assert c.size == (96, 96) and c.palette.shape[0] == 1
    for shift in (3, 6, 9, 12):
        frame = scene(shift)
        gray = small_gray(rgb_to_gray(uint8_to_float(frame[None])), c.size)
        ab, conf = c.step(gray)
    true_ab = rgb_to_lab_norm(uint8_to_float(frame[None]))[1]
    inside = (slice(None), slice(None), slice(36, 48), slice(38, 50))  # the square, moved 12 px
    assert float(ab[inside][:, 0].mean()) > 0.5 * float(true_ab[inside][:, 0].mean())
    static = rgb_to_lab_norm(uint8_to_float(ref[None]))[1]  # a naive copy leaves red behind
    behind = (slice(None), slice(None), slice(36, 48), slice(22, 30))
    assert float(static[behind][:, 0].mean()) > 0.3
    assert float(ab[behind][:, 0].abs().mean()) < 0.1
    assert float(conf.mean()) > 0.8


def test_a_fill_replaces_the_colour_where_the_lightness_disagrees():
    c = ShotCarrier(scene(0), tau=0.05)
    other = torch.full((3, 96, 96), 200, dtype=torch.uint8)  # a different picture
    gray = small_gray(rgb_to_gray(uint8_to_float(other[None])), c.size)
    fill = torch.tensor([0.0, 0.3]).view(1, 2, 1, 1).expand(1, 2, 48, 48)  # any size
    ab, conf = c.step(gray, fill, anchor=True)
    assert float(conf.mean()) < 0.2
    assert float((ab[:, 1] - 0.3).abs().mean()) < 0.1
    assert torch.equal(c.prev_ab, c.ref_ab)  # anchor steps do not move the chain


def test_sizes_and_bad_options():
    assert carry_size(480, 854) == (144, 256) and carry_size(100, 50) == (100, 50)
    with pytest.raises(ValueError, match="tau"):
        ShotCarrier(scene(0), tau=0)
    with pytest.raises(ValueError, match="preset"):
        ShotCarrier(scene(0), preset="slow")
    with pytest.raises(ValueError, match="expected"):
        ShotCarrier(scene(0)).step(np.zeros((10, 10), np.uint8))


def test_colour_a_chain_lost_comes_back_from_the_reference():
    """The square moves away and back: where the chain of frame-to-frame flows has blurred or
    lost the colour, the reference itself (compared pixel by pixel) gives it back."""
    ref = scene(0)
    c = ShotCarrier(ref)
    chain_ab, chain_gray = c.ref_ab, c.ref_gray  # the chain alone, for comparison
    for shift in (4, 8, 12, 16, 12, 8, 4, 0):
        gray = small_gray(rgb_to_gray(uint8_to_float(scene(shift)[None])), c.size)
        ab, _ = c.step(gray)
        chain_ab, _ = c._carry(gray, chain_gray, chain_ab, c.chain_flow)
        chain_gray = gray
    err = float((ab - c.ref_ab).abs().mean())
    assert err < 0.5 * float((chain_ab - c.ref_ab).abs().mean())
    assert err < 0.002
