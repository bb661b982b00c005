"""The one owner of colour conversion and normalisation in colorgan.

- Lab mode (pix2pix-style colorization, Isola et al. 2017 / Zhang et al. 2016):
  input  ``real_A`` = L / 50 - 1       in [-1, 1], shape (B, 1, H, W)
  target ``real_B`` = ab / 110         in ~[-1, 1], shape (B, 2, H, W)
- RGB mode: input ``real_A`` = gray * 2 - 1 (B, 1, H, W); target ``real_B`` = rgb * 2 - 1 (B, 3, H, W).
RGB images are float tensors in [0, 1]; colour maths is done by kornia.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_grayscale, rgb_to_lab

L_SCALE = 50.0
AB_SCALE = 110.0
COLOR_SPACES = ("lab", "rgb")


def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> [-1, 1]."""
    return L / L_SCALE - 1.0


def denormalize_l(L_norm: torch.Tensor) -> torch.Tensor:
    return (L_norm + 1.0) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """ab in ~[-110, 110] -> ~[-1, 1]."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    return ab_norm * AB_SCALE


F_ = TypeVar("F_", bound=Callable)
AUTOCAST_DEVICES = ("cpu", "cuda", "xpu")


def full_precision(fn: F_) -> F_:
    """``fn`` run in float32 even inside autocast: in bfloat16 a Lab round trip misses by up to
    0.14 in RGB, and a gray image measures colorfulness 0.8 instead of 0."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device = next((a.device.type for a in (*args, *kwargs.values())
                       if isinstance(a, torch.Tensor)), "cpu")
        if device not in AUTOCAST_DEVICES:
            return fn(*args, **kwargs)
        with torch.autocast(device_type=device, enabled=False):
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


@full_precision
def rgb_to_lab_norm(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, H, W) RGB in [0, 1] -> L_norm (B, 1, H, W), ab_norm (B, 2, H, W)."""
    lab = rgb_to_lab(rgb.float().clamp(0.0, 1.0))
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:])


@full_precision
def lab_norm_to_rgb(L_norm: torch.Tensor, ab_norm: torch.Tensor, gamut: str = "map") -> torch.Tensor:
    """L_norm (B, 1, H, W), ab_norm (B, 2, H, W) -> RGB (B, 3, H, W) in [0, 1]; ``gamut="map"``:
    out-of-sRGB colours keep L and hue (:func:`map_into_gamut`), ``"clip"``: per RGB channel."""
    L = denormalize_l(L_norm.float()).clamp(0.0, 100.0)
    lab = torch.cat([L, denormalize_ab(ab_norm.float())], dim=1)  # (B, 3, H, W)
    if gamut == "clip":
        return lab_to_rgb(lab, clip=True)
    if gamut != "map":
        raise ValueError(f"gamut={gamut!r}: choose map (keep L and hue) or clip (per channel).")
    return map_into_gamut(lab)


# ----------------------------------------------------------------- gamut mapping
GAMUT_STEPS = 10    # bisection steps on s: chroma within 2^-10 (<= 0.15 of 155) of the edge
GAMUT_TOL = 1e-4    # sRGB (and linear RGB) this far outside [0, 1] counts as inside (float noise)
_D65 = (0.95047, 1.0, 1.08883)  # kornia's reference white
_XYZ_TO_RGB = ((3.2404813432005266, -1.5371515162713185, -0.4985363261688878),
               (-0.9692549499965682, 1.8759900014898907, 0.0415559265582928),
               (0.0556466391351772, -0.2040413383665112, 1.0573110696453443))  # kornia's


def _finv(f: torch.Tensor) -> torch.Tensor:
    """CIE Lab's inverse companding, as kornia's lab_to_rgb: f -> X/Xn (or Y/Yn, Z/Zn)."""
    return torch.where(f > 0.2068966, f * f * f, (f - 4.0 / 29.0) / 7.787)


def _chroma_limit(lab: torch.Tensor, steps: int) -> torch.Tensor:
    """Lab pixels (N, 3) -> (N,) the largest s in [0, 1] (to 2^-steps) with L, s * (a, b)
    inside sRGB, tested in linear RGB (X and Z are the only terms that move with s)."""
    fy = (lab[:, 0] + 16.0) / 116.0
    da, db = lab[:, 1] / 500.0, lab[:, 2] / 200.0
    (wx, wy, wz), rows = _D65, _XYZ_TO_RGB
    y = _finv(fy) * wy
    base = [y * r[1] for r in rows]  # (N,) each channel's constant part (Y's)
    x_w, z_w = [r[0] * wx for r in rows], [r[2] * wz for r in rows]
    lo, hi = torch.zeros_like(fy), torch.ones_like(fy)  # gray (s = 0) is inside
    for _ in range(steps):
        mid = (lo + hi) * 0.5
        X, Z = _finv(fy + mid * da), _finv((fy - mid * db).clamp_(min=0.0))
        v = torch.stack([base[c] + x_w[c] * X + z_w[c] * Z for c in range(3)])  # (3, N) linear RGB
        ok = ((v >= -GAMUT_TOL) & (v <= 1.0 + GAMUT_TOL)).all(0)
        lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid)
    return lo


def map_into_gamut(lab: torch.Tensor, steps: int = GAMUT_STEPS) -> torch.Tensor:
    """Lab (B, 3, H, W) (L in [0, 100]) -> sRGB (B, 3, H, W) in [0, 1]: out-of-gamut pixels get
    (a, b) scaled by the largest s (bisection, not differentiated) that decodes inside: chroma
    clipping at constant L and hue (J. Morovic, "Color Gamut Mapping", Wiley 2008)."""
    rgb = lab_to_rgb(lab, clip=False)  # (B, 3, H, W)
    out = ((rgb < -GAMUT_TOL) | (rgb > 1.0 + GAMUT_TOL)).any(1)  # (B, H, W) outside sRGB
    if not bool(out.any()):
        return rgb.clamp(0.0, 1.0)
    sub = lab.permute(0, 2, 3, 1)[out]  # (M, 3)
    with torch.no_grad():
        s = _chroma_limit(sub.detach(), steps)  # (M,)
    mapped = torch.cat([sub[:, :1], sub[:, 1:] * s[:, None]], 1)  # (M, 3)
    new = lab_to_rgb(mapped.T[None, :, None], clip=False)[0, :, 0].T  # (M, 3)
    return rgb.permute(0, 2, 3, 1).index_put((out,), new).permute(0, 3, 1, 2).clamp(0.0, 1.0)


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma (ITU-R 601) in [0, 1]."""
    return rgb_to_grayscale(rgb.float())


def uint8_to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W) in [0, 255] -> float in [0, 1]; float input is returned as float."""
    return img.float().div_(255.0) if img.dtype == torch.uint8 else img.float()


def float_to_uint8(img: torch.Tensor) -> torch.Tensor:
    return (img.clamp(0.0, 1.0) * 255.0).round_().to(torch.uint8)


class ColorSpace:
    """Encodes RGB batches into (input, target) pairs for one colour mode, and decodes back."""

    in_channels = 1  # the generator's input: L or gray

    def __init__(self, mode: str = "lab") -> None:
        if mode not in COLOR_SPACES:
            raise ValueError(f"model.color_space={mode!r} is not supported; choose one of "
                             f"{list(COLOR_SPACES)}.")
        self.mode = mode

    @property
    def out_channels(self) -> int:
        return 2 if self.mode == "lab" else 3

    def encode_input(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> generator input (B, 1, H, W) in [-1, 1]."""
        if self.mode == "lab":
            return rgb_to_lab_norm(rgb)[0]
        return rgb_to_gray(rgb) * 2.0 - 1.0

    def encode(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB [0, 1] (B, 3, H, W) -> real_A (B, 1, H, W), real_B (B, C_out, H, W)."""
        if self.mode == "lab":
            return rgb_to_lab_norm(rgb)
        return rgb_to_gray(rgb) * 2.0 - 1.0, rgb.float() * 2.0 - 1.0

    def decode(self, real_A: torch.Tensor, fake_B: torch.Tensor) -> torch.Tensor:
        """Generator input + output -> RGB (B, 3, H, W) in [0, 1]."""
        if self.mode == "lab":
            return lab_norm_to_rgb(real_A, fake_B)
        return ((fake_B.float() + 1.0) / 2.0).clamp(0.0, 1.0)

    def gray_rgb(self, real_A: torch.Tensor) -> torch.Tensor:
        """The 'no colour at all' baseline for an input: ab = 0 (Lab) or gray replicated (RGB)."""
        if self.mode == "lab":
            return lab_norm_to_rgb(real_A, torch.zeros_like(real_A).repeat(1, 2, 1, 1))
        return ((real_A.float() + 1.0) / 2.0).clamp(0.0, 1.0).repeat(1, 3, 1, 1)

    def chroma(self, real_A: torch.Tensor, fake_B: torch.Tensor) -> torch.Tensor:
        """Normalised ab (B, 2, H, W) of a prediction, whatever the mode."""
        if self.mode == "lab":
            return fake_B.float()
        return rgb_to_lab_norm(self.decode(real_A, fake_B))[1]

    def scale_chroma(self, real_A: torch.Tensor, fake_B: torch.Tensor,
                     gain: float | torch.Tensor, center: str = "zero") -> torch.Tensor:
        """A prediction with its chroma (ab) scaled by ``gain`` about ``center`` (:func:`scale_ab`),
        same mode; decoding cuts chroma at the gamut's edge (:func:`map_into_gamut`)."""
        if not torch.is_tensor(gain) and gain == 1.0:
            return fake_B
        if self.mode == "lab":
            return scale_ab(fake_B, gain, center)  # (B, 2, H, W)
        L, ab = rgb_to_lab_norm(self.decode(real_A, fake_B))
        return lab_norm_to_rgb(L, scale_ab(ab, gain, center)) * 2.0 - 1.0  # (B, 3, H, W)


CHROMA_CENTERS = ("zero", "image")  # what a chroma gain scales about: gray, or the image's mean


def scale_ab(ab: torch.Tensor, gain: float | torch.Tensor, center: str = "zero") -> torch.Tensor:
    """Normalised ab (B, 2, H, W) scaled by ``gain`` (a number, or one per image (B,)), kept in
    [-1, 1] at its hue. ``center="zero"`` scales about gray (saturation); ``"image"`` about each
    image's mean chroma (vibrance: less PSNR lost at the same colorfulness, experiments/quality
    table 7)."""
    if not torch.is_tensor(gain) and gain == 1.0:
        return ab
    ab = ab.float()
    if torch.is_tensor(gain):  # one gain per image (B,)
        gain = gain.to(ab).view(-1, 1, 1, 1)
    if center == "image":
        mean = ab.mean(dim=(-2, -1), keepdim=True)  # (B, 2, 1, 1)
        return clamp_chroma(mean + gain * (ab - mean))
    return clamp_chroma(ab * gain)


def clamp_chroma(ab: torch.Tensor) -> torch.Tensor:
    """Normalised ab (B, 2, H, W) with |a|, |b| <= 1, each pixel scaled toward gray (hue kept)."""
    peak = ab.abs().amax(dim=1, keepdim=True)  # (B, 1, H, W)
    return ab / peak.clamp(min=1.0)


def unscale_ab(ab: torch.Tensor, gain: float, center: str = "zero") -> torch.Tensor:
    """The inverse of :func:`scale_ab` (up to its clamp) for ``gain`` > 0 (temporal feedback)."""
    return ab if gain == 0.0 else scale_ab(ab, 1.0 / gain, center)  # a centred gain keeps the mean


def check_chroma_center(center: str, option: str = "chroma_center") -> str:
    """``zero`` (saturation about gray) or ``image`` (about each image's mean chroma)."""
    if center not in CHROMA_CENTERS:
        raise ValueError(f"{option}={center!r}: choose one of {list(CHROMA_CENTERS)} (zero = "
                         "saturate about gray, image = vibrance about the image's mean colour).")
    return str(center)


def check_chroma_gain(gain: float, option: str = "chroma_gain") -> float:
    """A chroma gain must be a finite number >= 0 (0 = gray, 1 = the model's own colour)."""
    try:
        g = float(gain)
    except (TypeError, ValueError):
        g = float("nan")
    if not (g >= 0 and g != float("inf")):
        raise ValueError(f"{option}={gain}: the chroma gain must be a number >= 0 (0 = gray, "
                         "1 = the model's own colour, 1.25 = 25% more saturated).")
    return g


def recombine_full_resolution(L_full: torch.Tensor, ab_small: torch.Tensor) -> torch.Tensor:
    """Normalised L (B, 1, H, W) at full size + ab (B, 2, h, w) upsampled -> RGB (B, 3, H, W)."""
    ab = ab_small.float()
    if ab.shape[-2:] != L_full.shape[-2:]:
        ab = F.interpolate(ab, size=L_full.shape[-2:], mode="bilinear", align_corners=False)
    return lab_norm_to_rgb(L_full, ab)


# ----------------------------------------------------------------- Y'CbCr (films)
# Luma coefficients (Kr, Kb) of ITU-R BT.601-7, BT.709-6 and BT.2020-2 (non-constant luminance).
YUV_MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def _kr_kb(matrix: str) -> tuple[float, float]:
    if matrix not in YUV_MATRICES:
        raise ValueError(f"colour matrix {matrix!r}: choose one of {list(YUV_MATRICES)}.")
    return YUV_MATRICES[matrix]


def luma_to_gray(y: torch.Tensor, full_range: bool) -> torch.Tensor:
    """8-bit Y' plane (uint8 or float levels) -> gray in [0, 1] (limited range: 16..235)."""
    y = y.float()
    return (y / 255.0 if full_range else (y - 16.0) / 219.0).clamp(0.0, 1.0)


def gray_to_l_norm(gray: torch.Tensor) -> torch.Tensor:
    """Gray sRGB in [0, 1] (B, 1, H, W) -> normalised L: the L of rgb_to_lab on (g, g, g), 3x cheaper."""
    lin = torch.where(gray > 0.04045, ((gray + 0.055) / 1.055).pow(2.4), gray / 12.92)
    f = torch.where(lin > 0.008856, lin.clamp_min(1e-12).pow(1.0 / 3.0), 7.787 * lin + 4.0 / 29.0)
    return normalize_l(116.0 * f - 16.0)


def rgb_to_chroma_planes(rgb: torch.Tensor, matrix: str, full_range: bool) -> torch.Tensor:
    """RGB in [0, 1] (B, 3, H, W) -> 8-bit Cb, Cr planes (B, 2, H, W) uint8 of ``matrix``."""
    kr, kb = _kr_kb(matrix)
    r, g, b = rgb.float().unbind(1)
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    pbpr = torch.stack([(b - y) / (2.0 * (1.0 - kb)), (r - y) / (2.0 * (1.0 - kr))], 1)  # [-.5, .5]
    if full_range:
        return (128.0 + 255.0 * pbpr).round_().clamp_(0, 255).to(torch.uint8)
    return (128.0 + 224.0 * pbpr).round_().clamp_(16, 240).to(torch.uint8)


def yuv_to_rgb(y: torch.Tensor, uv: torch.Tensor, matrix: str, full_range: bool) -> torch.Tensor:
    """8-bit Y' (B, 1, H, W) + Cb, Cr (B, 2, H, W) at the same size -> RGB in [0, 1]."""
    kr, kb = _kr_kb(matrix)
    yf = luma_to_gray(y, full_range)
    pb, pr = ((uv.float() - 128.0) / (255.0 if full_range else 224.0)).unbind(1)
    r = yf[:, 0] + 2.0 * (1.0 - kr) * pr
    b = yf[:, 0] + 2.0 * (1.0 - kb) * pb
    g = (yf[:, 0] - kr * r - kb * b) / (1.0 - kr - kb)
    return torch.stack([r, g, b], 1).clamp(0.0, 1.0)
