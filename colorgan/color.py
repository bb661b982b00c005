"""The one owner of colour conversion and normalisation in colorgan.

Every other module goes through here, so the conventions live in a single place:

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
    """``fn`` run in float32 even inside autocast (``trainer.precision=bf16-mixed``).

    Autocast would run kornia's 3x3 colour matrices and SSIM's window filter in bfloat16: a Lab
    round trip then misses by up to 0.14 in RGB, and a gray image measures colorfulness 0.8
    instead of 0. Only the networks should run in mixed precision; colour and metrics do not.
    """
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
def lab_norm_to_rgb(L_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """L_norm (B, 1, H, W), ab_norm (B, 2, H, W) -> RGB (B, 3, H, W) in [0, 1]."""
    L = denormalize_l(L_norm.float()).clamp(0.0, 100.0)
    ab = denormalize_ab(ab_norm.float())
    return lab_to_rgb(torch.cat([L, ab], dim=1), clip=True)


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma (ITU-R 601) in [0, 1]."""
    return rgb_to_grayscale(rgb.float())


def uint8_to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W) in [0, 255] -> float in [0, 1]; float input is returned as float."""
    if img.dtype == torch.uint8:
        return img.float().div_(255.0)
    return img.float()


def float_to_uint8(img: torch.Tensor) -> torch.Tensor:
    return (img.clamp(0.0, 1.0) * 255.0).round_().to(torch.uint8)


class ColorSpace:
    """Encodes RGB batches into (input, target) pairs for one colour mode, and decodes back.

    >>> cs = ColorSpace("lab"); real_A, real_B = cs.encode(rgb)   # (B,1,H,W), (B,2,H,W)
    >>> rgb_hat = cs.decode(real_A, fake_B)                        # (B,3,H,W) in [0, 1]
    """

    def __init__(self, mode: str = "lab") -> None:
        if mode not in COLOR_SPACES:
            raise ValueError(
                f"model.color_space={mode!r} is not supported; choose one of {list(COLOR_SPACES)}."
            )
        self.mode = mode

    @property
    def in_channels(self) -> int:
        return 1

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
        """A prediction with its chroma (ab) scaled by ``gain`` (a number, or one per image
        (B,)) about ``center`` (see :func:`scale_ab`), lightness unchanged, same mode."""
        if not torch.is_tensor(gain) and gain == 1.0:
            return fake_B
        if self.mode == "lab":
            return scale_ab(fake_B, gain, center)  # (B, 2, H, W)
        L, ab = rgb_to_lab_norm(self.decode(real_A, fake_B))
        return lab_norm_to_rgb(L, scale_ab(ab, gain, center)) * 2.0 - 1.0  # (B, 3, H, W)


CHROMA_CENTERS = ("zero", "image")  # what a chroma gain scales about: gray, or the image's mean


def scale_ab(ab: torch.Tensor, gain: float | torch.Tensor, center: str = "zero") -> torch.Tensor:
    """Normalised ab (B, 2, H, W) scaled by ``gain`` (a number, or one per image (B,)), kept in
    [-1, 1] (the chroma-gain knob).

    ``center="zero"`` scales about gray (saturation); ``"image"`` scales each image's chroma
    about its own mean chroma (vibrance: colour contrast up, overall cast kept). Under an L2
    loss the cheapest colorfulness is bought along the chroma's deviations from its mean, which
    is why ``"image"`` costs less PSNR at the same colorfulness (experiments/quality, table 7).
    """
    if not torch.is_tensor(gain) and gain == 1.0:
        return ab
    ab = ab.float()
    if torch.is_tensor(gain):  # one gain per image (B,): model.chroma_per_class
        gain = gain.to(ab).view(-1, 1, 1, 1)
    if center == "image":
        mean = ab.mean(dim=(-2, -1), keepdim=True)  # (B, 2, 1, 1)
        return (mean + gain * (ab - mean)).clamp(-1.0, 1.0)
    return (ab * gain).clamp(-1.0, 1.0)


def scale_ab_to(ab: torch.Tensor, ref: torch.Tensor, fraction: float) -> torch.Tensor:
    """Normalised ab (B, 2, H, W) stretched about each image's mean chroma by one gain for the
    batch: the gain that makes its chroma deviations (RMS over the batch) ``fraction`` x those
    of ``ref`` (the truth's ab). The gain is not detached, so a loss on the result trains how
    colour is spread, not how much (model.rec_at_colour)."""
    def deviation(x: torch.Tensor) -> torch.Tensor:  # () RMS of x about each image's mean
        return (x - x.mean(dim=(-2, -1), keepdim=True)).pow(2).mean().add(1e-8).sqrt()

    gain = fraction * deviation(ref.float()).detach() / deviation(ab.float())  # ()
    return scale_ab(ab, gain, "image")


def unscale_ab(ab: torch.Tensor, gain: float, center: str = "zero") -> torch.Tensor:
    """The inverse of :func:`scale_ab` (up to its clamp) for ``gain`` > 0: a gained prediction
    back on the model's own scale (the temporal models' feedback)."""
    if gain in (0.0, 1.0):
        return ab
    return scale_ab(ab, 1.0 / gain, center)  # the mean is unchanged by a centred gain


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
    """Upsample predicted chroma to the full-resolution luminance and merge.

    L_full: (B, 1, H, W) normalised L at the original size; ab_small: (B, 2, h, w) normalised.
    Returns RGB (B, 3, H, W) in [0, 1], as sharp as the original luminance.
    """
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
