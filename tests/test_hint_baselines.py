"""The classic hint-propagation baselines (colorgan/hints/baselines.py): nearest hint, nearest
hint + lightness, and Levin et al. (2004), on synthetic images with a known answer and on real
photos against gray."""
import math
import random

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from colorgan.color import (
    denormalize_ab,
    denormalize_l,
    lab_norm_to_rgb,
    normalize_ab,
    normalize_l,
    rgb_to_lab_norm,
)
from colorgan.data.images import load_rgb
from colorgan.hints.baselines import LUMA_WEIGHT, levin_fill, nearest_fill
from tests.conftest import shared_data

RED, BLUE = (40.0, 30.0), (-20.0, -45.0)


def hints_at(shape, points):
    """hint_ab (1, 2, H, W), mask (1, 1, H, W) with one hinted pixel per ((y, x), (a, b))."""
    hint, mask = torch.zeros(1, 2, *shape), torch.zeros(1, 1, *shape)
    for (y, x), ab in points:
        hint[0, :, y, x] = torch.tensor(ab)
        mask[0, 0, y, x] = 1.0
    return hint, mask


def two_regions(size=24, edge=12):
    """L (1, 1, size, size): dark left of column ``edge`` (L = 30), light from it on (L = 70);
    the dark region's hint sits just left of the edge, the light one's at the far right."""
    L = torch.full((1, 1, size, size), 30.0)
    L[..., edge:] = 70.0
    hint, mask = hints_at((size, size), [((size // 2, edge - 2), RED), ((size // 2, size - 1), BLUE)])
    return L, hint, mask


def region_colours(ab, edge):
    left, right = ab[0, :, :, :edge], ab[0, :, :, edge:]  # (2, H, edge), (2, H, W - edge)
    return left, right


def near(x, colour, tol):
    return (x - torch.tensor(colour).view(2, 1, 1)).abs().max().item() <= tol


def test_levin_keeps_each_region_its_hint_colour_across_a_sharp_edge():
    L, hint, mask = two_regions()
    ab = levin_fill(L, hint, mask)  # (1, 2, 24, 24)
    left, right = region_colours(ab, 12)
    assert near(left, RED, 2.0) and near(right, BLUE, 2.0)  # a few % leaks through the edge
    jump = (ab[0, :, :, 12] - ab[0, :, :, 11]).norm(dim=0)  # (24,) across the edge
    assert jump.min() > 0.95 * math.dist(RED, BLUE)


def test_nearest_bleeds_across_the_edge_and_nearest_with_lightness_does_not():
    L, hint, mask = two_regions()
    _, right = region_colours(nearest_fill(L, hint, mask), 12)
    assert near(right[:, :, :3], RED, 0.0)  # the light side next to the edge took the dark hint
    left, right = region_colours(nearest_fill(L, hint, mask, LUMA_WEIGHT), 12)
    assert near(left, RED, 0.0) and near(right, BLUE, 0.0)


def test_nearest_matches_brute_force_distances():
    g = torch.Generator().manual_seed(3)
    L = torch.rand(1, 1, 9, 11, generator=g) * 100
    pts = [((1, 2), (10.0, 5.0)), ((7, 9), (-30.0, 20.0)), ((4, 5), (60.0, -60.0))]
    hint, mask = hints_at((9, 11), pts)
    for w in (0.0, 0.7):
        out = nearest_fill(L, hint, mask, luma_weight=w)
        for y in range(9):
            for x in range(11):
                d = [math.hypot(y - py, x - px) + w * abs(L[0, 0, y, x] - L[0, 0, py, px])
                     for (py, px), _ in pts]
                assert out[0, :, y, x].tolist() == list(pts[int(np.argmin(d))][1])


def levin_reference(Y, hinted, ab, window=1):
    """Levin et al. (2004) as the authors' getColorExact.m writes it, one pixel at a time,
    solved densely: the check on the vectorised, reordered sparse version."""
    H, W = Y.shape
    A, P = np.zeros((H * W, H * W)), H * W
    for y in range(H):
        for x in range(W):
            r = y * W + x
            A[r, r] = 1.0
            if hinted[y, x]:
                continue
            nb = [(j, i) for j in range(y - window, y + window + 1)
                  for i in range(x - window, x + window + 1)
                  if 0 <= j < H and 0 <= i < W and (j, i) != (y, x)]
            vals = np.array([Y[j, i] for j, i in nb] + [Y[y, x]])
            sig = max(0.6 * vals.var(), -min((vals[:-1] - Y[y, x]) ** 2) / math.log(0.01), 2e-6)
            w = np.exp(-(vals[:-1] - Y[y, x]) ** 2 / sig)
            for (j, i), wi in zip(nb, w / w.sum()):
                A[r, j * W + i] = -wi
    rhs = np.where(hinted.reshape(-1, 1), ab.reshape(2, P).T, 0.0)
    return np.linalg.solve(A, rhs).T.reshape(2, H, W)


@pytest.mark.parametrize("window", [1, 2])
def test_levin_matches_a_pixel_by_pixel_reference(window):
    g = torch.Generator().manual_seed(5)
    L = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 13, 10, generator=g) * 100, 3, 1, 1)
    hint, mask = hints_at((13, 10), [((0, 0), RED), ((12, 3), BLUE), ((6, 9), (5.0, 70.0))])
    ref = levin_reference(L[0, 0].double().numpy() / 100, mask[0, 0].numpy() > 0.5,
                          hint[0].double().numpy(), window)
    assert np.allclose(levin_fill(L, hint, mask, window=window)[0].numpy(), ref, atol=1e-3)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (3, 1), (2, 2)])
@pytest.mark.parametrize("fill", [nearest_fill, levin_fill])
def test_one_hint_colours_a_tiny_image_whole(fill, shape):
    L = torch.rand(1, 1, *shape, generator=torch.Generator().manual_seed(2)) * 100
    hint, mask = hints_at(shape, [((0, 0), RED)])
    out = fill(L, hint, mask)
    assert torch.allclose(out, torch.tensor(RED).view(1, 2, 1, 1).expand(1, 2, *shape), atol=1e-4)


def test_levin_interpolates_along_a_smooth_gradient():
    L = torch.linspace(10, 90, 20).view(1, 1, 1, 20).expand(1, 1, 8, 20).contiguous()
    hint, mask = hints_at((8, 20), [((y, 0), (50.0, 0.0)) for y in range(8)]
                          + [((y, 19), (-50.0, 0.0)) for y in range(8)])
    a = levin_fill(L, hint, mask)[0, 0]  # (8, 20)
    assert torch.all(a[:, 1:] < a[:, :-1])  # strictly from one hint's colour to the other's
    assert a[:, 1:-1].abs().max() < 50.0 and a[:, 9:11].abs().max() < 5.0  # ~0 halfway
    assert len(nearest_fill(L, hint, mask)[0, 0].unique()) == 2  # nearest only steps


@pytest.mark.parametrize("fill", [nearest_fill, levin_fill,
                                  lambda *a: nearest_fill(*a, luma_weight=LUMA_WEIGHT)])
def test_hinted_pixels_exact_unhinted_images_gray_batch_items_independent(fill):
    g = torch.Generator().manual_seed(1)
    L = torch.rand(3, 1, 16, 16, generator=g) * 100
    hint, mask = torch.zeros(3, 2, 16, 16), torch.zeros(3, 1, 16, 16)
    for b, (y, x) in ((0, (2, 3)), (0, (10, 11)), (2, (5, 5))):  # 3x3 patches, item 1 has none
        mask[b, :, y:y + 3, x:x + 3] = 1.0
        hint[b, :, y:y + 3, x:x + 3] = torch.randn(2, 3, 3, generator=g) * 40
    out = fill(L, hint, mask)
    assert out.shape == (3, 2, 16, 16) and out.dtype == L.dtype
    on = mask.expand_as(hint) > 0.5
    assert torch.equal(out[on], hint[on])
    assert torch.equal(out[1], torch.zeros(2, 16, 16))
    assert out[0].abs().sum() > 0 and out[2].abs().sum() > 0
    for b in (0, 2):
        assert torch.allclose(fill(L[b:b + 1], hint[b:b + 1], mask[b:b + 1])[0], out[b])


def test_float64_in_float64_out():
    L, hint, mask = two_regions(8, 4)
    for out in (nearest_fill(L.double(), hint.double(), mask.double()),
                levin_fill(L.double(), hint.double(), mask.double())):
        assert out.dtype == torch.float64


@pytest.mark.parametrize("change, name, words", [
    (lambda L, h, m: (L[:, :, :4], h, m), "hint_ab", "must match"),
    (lambda L, h, m: (L, h[:, :1], m), "hint_ab", "(B, 2, H, W)"),
    (lambda L, h, m: (L[0], h, m), "L", "(B, 1, H, W)"),
    (lambda L, h, m: (L / 50 - 1, h, m), "L", "[0, 100]"),
    (lambda L, h, m: (L, h.index_fill(3, torch.tensor([0]), float("nan")), m), "hint_ab", "NaN"),
    (lambda L, h, m: (L, h * 255, m), "hint_ab", "Lab a/b"),
    (lambda L, h, m: (L, h, m * 255), "mask", "1.0 where"),
    (lambda L, h, m: (L.long(), h, m), "L", "float"),
    (lambda L, h, m: (L.numpy(), h, m), "L", "torch.Tensor"),
])
@pytest.mark.parametrize("fill", [nearest_fill, levin_fill])
def test_bad_hint_tensors_are_named(fill, change, name, words):
    with pytest.raises(ValueError, match=name) as err:
        fill(*change(*two_regions(8, 4)))
    assert words in str(err.value)


def test_bad_options_are_named():
    args = two_regions(8, 4)
    with pytest.raises(ValueError, match="luma_weight=-1"):
        nearest_fill(*args, luma_weight=-1)
    with pytest.raises(ValueError, match="luma_weight=nan"):
        nearest_fill(*args, luma_weight="strong")
    with pytest.raises(ValueError, match="window=0"):
        levin_fill(*args, window=0)
    with pytest.raises(ValueError, match="eps=0"):
        levin_fill(*args, eps=0.0)


def test_on_real_photos_both_beat_gray_and_lightness_beats_plain_nearest():
    files = sorted(shared_data("images/scenes").glob("*/*.jpg"))
    files = random.Random(0).sample(files, 4)
    g = torch.Generator().manual_seed(0)
    psnr = {"gray": [], "nearest": [], "nearest+L": [], "levin": []}
    for f in files:
        rgb = load_rgb(f, 64).float().div(255)[None]  # (1, 3, 64, 64)
        L_norm, ab_norm = rgb_to_lab_norm(rgb)
        L, ab = denormalize_l(L_norm).clamp(0, 100), denormalize_ab(ab_norm)
        mask = torch.zeros_like(L)
        mask.view(-1)[torch.randperm(64 * 64, generator=g)[:50]] = 1.0  # 50 random hints
        hint = ab * mask
        for k, out in (("gray", torch.zeros_like(ab)), ("nearest", nearest_fill(L, hint, mask)),
                       ("nearest+L", nearest_fill(L, hint, mask, LUMA_WEIGHT)),
                       ("levin", levin_fill(L, hint, mask))):
            pred = lab_norm_to_rgb(normalize_l(L), normalize_ab(out))
            psnr[k].append(peak_signal_noise_ratio(pred, rgb, data_range=1.0).item())
    mean = {k: sum(v) / len(v) for k, v in psnr.items()}
    assert min(mean["nearest"], mean["nearest+L"], mean["levin"]) > mean["gray"] + 1.0, mean
    assert max(mean["nearest+L"], mean["levin"]) > mean["nearest"] + 0.5, mean
