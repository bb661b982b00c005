"""Load a colorgan checkpoint into a ``Colorizer`` that colours frames of any size.

The generator runs at its training size on the short side (aspect kept; ``resize="square"``
squashes); its chroma is upsampled onto the full-resolution luminance ("low-res chroma, full-res
luma", Zhang et al. 2016, arXiv:1603.08511): ``lab`` recombines L + ab through RGB (photos),
``yuv`` keeps the decoded Y' plane and computes only Cb, Cr (films' default).
The colour settings are the :class:`colorgan.predictor.Predictor`'s; its network is the
checkpoint's generator or an ONNX model (:mod:`colorgan.colorize.onnx_backend`). The model code
(``colorgan.models``, Lightning, Hydra) is imported only when a checkpoint is loaded.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from colorgan.color import (
    ColorSpace,
    float_to_uint8,
    gray_to_l_norm,
    lab_norm_to_rgb,
    luma_to_gray,
    recombine_full_resolution,
    rgb_to_chroma_planes,
    rgb_to_gray,
    rgb_to_lab_norm,
    uint8_to_float,
    unscale_ab,
)
from colorgan.colorize.carry import carry_size
from colorgan.data.aspect import keep_aspect_size
from colorgan.predictor import Predictor, hint_channel
from colorgan.utils.checkpoint_file import one_line, read_checkpoint

TEMPORAL_MODES = ("independent", "dependent", "smooth")
RESIZE_MODES = ("keep", "square")  # generator input: aspect ratio kept, or squashed square
MAX_ASPECT = 8  # generator input's long side <= 8 x the training size (panoramas up to 8:1 as is)


class CheckpointError(ValueError):
    """The checkpoint cannot be used: the message names the file and what to do."""


def pick_device(device: str | None = None) -> torch.device:
    """``None``/"auto": the GPU when there is one, the CPU otherwise."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is visible here; use --device cpu.")
    return dev


@dataclass
class Prepared:
    """One batch of frames, ready for the generator (h, w: the generator's input size)."""

    L_full: torch.Tensor | None   # (B, 1, H, W) normalised L at the original size (lab)
    real_A: torch.Tensor          # (B, 1, h, w) generator input
    luma: torch.Tensor            # (B, 1, h, w) gray in [0, 1], for scene-cut detection
    gray_c: torch.Tensor | None = None  # (B, 1, H/2, W/2) gray at chroma resolution (planes)
    chroma_size: tuple[int, int] | None = None  # (H/2, W/2): the chroma planes' size (yuv)
    carry: torch.Tensor | None = None   # (B, 1, h', w') gray at the carry grid (reference frames)

    def take(self, idx: list[int]) -> Prepared:
        """The frames ``idx`` of the batch (full-resolution L is not kept)."""
        pick = lambda x: None if x is None else x[idx]
        return Prepared(None, self.real_A[idx], self.luma[idx], pick(self.gray_c),
                        self.chroma_size, pick(self.carry))


class _OnPredictor:
    """A Colorizer attribute that lives on its Predictor (``c.flip`` is ``c.predictor.flip``)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        return self if obj is None else getattr(obj.predictor, self.name)

    def __set__(self, obj, value) -> None:
        setattr(obj.predictor, self.name, value)


class Colorizer:
    """A generator rebuilt from a checkpoint, plus the pre/post-processing around it.

    >>> c = Colorizer.from_checkpoint("last.ckpt")
    >>> rgb = c.colorize(frames_uint8)   # (B, 3, H, W) uint8 -> (B, 3, H, W) uint8
    """

    max_aspect: float = MAX_ASPECT  # generator input: long side <= this x the training size
    # the colour settings and their setters, owned by self.predictor (model.tta_flip, ...)
    netG, flip, chroma_gain = _OnPredictor(), _OnPredictor(), _OnPredictor()
    chroma_center, weights, amp_dtype = _OnPredictor(), _OnPredictor(), _OnPredictor()
    set_chroma_gain, set_temperature = _OnPredictor(), _OnPredictor()
    supports_temperature = _OnPredictor()

    def __init__(self, netG: torch.nn.Module, color_space: str, image_size: int,
                 temporal: bool = False, device: torch.device | str = "cpu",
                 precision: str = "auto", resize: str = "keep") -> None:
        self.device = torch.device(device)
        if precision == "auto":
            precision = "bf16" if self.device.type == "cuda" else "fp32"
        dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if precision not in dtypes:
            raise ValueError(f"--precision {precision!r}: choose one of {list(dtypes)} or auto.")
        self.predictor = Predictor(netG.to(self.device).eval(), color_space,
                                   amp_dtype=dtypes[precision])
        self.cs = ColorSpace(color_space)
        self.image_size = int(image_size)
        if resize not in RESIZE_MODES:
            raise ValueError(f"--resize {resize!r}: choose one of {list(RESIZE_MODES)}.")
        self.resize = resize
        self.size_multiple = int(getattr(netG, "size_multiple", 1))
        self.chroma_at = "net"  # yuv path: where ab becomes Cb, Cr (see finish_planes)
        self.temporal = bool(temporal)  # generator takes cat(L, previous ab)
        self.pair_fps: float | None = None  # dependent: fps of the training pairs (None: 1 frame)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None,
                        precision: str = "auto", resize: str = "keep") -> Colorizer:
        from colorgan.utils.targets import check_targets

        path = Path(path)
        ckpt = read_checkpoint(path, "--ckpt", CheckpointError)  # a dict with a dict state_dict
        hp, state = ckpt.get("hyper_parameters"), ckpt["state_dict"]
        if not isinstance(hp, dict) or "netG" not in hp:
            raise CheckpointError(f"--ckpt {path} is not a colorgan checkpoint (no netG "
                                  "hyper-parameters / state_dict). Use a .ckpt saved by "
                                  "`colorgan train`.")
        # the EMA weights (model.ema) when the checkpoint has them, else the raw netG
        prefix = "netG_ema.module." if any(k.startswith("netG_ema.module.") for k in state) \
            else "netG."
        if not any(k.startswith(prefix) for k in state):
            raise CheckpointError(f"--ckpt {path} has no generator weights (netG.*).")
        check_targets(hp, f"--ckpt {path}")  # refuse foreign classes before building anything
        dev = pick_device(device)  # the command line's own errors name its options
        try:
            return cls._build(path, hp, state, prefix, dev, precision, resize)
        except Exception as e:  # noqa: BLE001 - hyper-parameters edited or of another version
            if isinstance(e, ValueError) and str(e).startswith("--"):
                raise  # ours: --ckpt (weights), --precision, --resize
            raise CheckpointError(f"--ckpt {path}: its hyper-parameters do not describe a "
                                  f"usable colorgan generator ({one_line(e)}). Use a .ckpt "
                                  "saved by `colorgan train`.") from None

    @classmethod
    def _build(cls, path: Path, hp: dict, state: dict, prefix: str, dev: torch.device,
               precision: str, resize: str) -> Colorizer:
        """The Colorizer that checked hyper-parameters ``hp`` and weights ``state`` describe."""
        from colorgan.models.build import build_generator
        from colorgan.models.retired import warn_retired

        warn_retired(hp, f"--ckpt {path}")
        temporal = dict(hp.get("temporal") or {})
        netG = build_generator(hp["netG"], hp.get("color_space", "lab"), temporal,  # no download:
                               hp.get("classification"), from_checkpoint=True,  # the weights
                               hints=hp.get("hints"))  # are here
        try:
            netG.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                  if k.startswith(prefix)})
        except RuntimeError as e:
            raise CheckpointError(f"--ckpt {path}: weights do not fit the generator described "
                                  f"in its hyper-parameters ({str(e).splitlines()[0]}).") from None
        size = int(hp.get("train_image_size") or 256)
        c = cls(netG, hp.get("color_space", "lab"), size, temporal.get("enabled", False),
                dev, precision, resize)
        c.pair_fps = float(temporal["pair_fps"]) if temporal.get("pair_fps") else None
        c.predictor = Predictor.from_hparams(c.netG, hp, "ema" if prefix.startswith("netG_ema")
                                             else "raw", c.amp_dtype)
        return c

    @property
    def hints(self) -> bool:
        """Whether netG takes point hints and a palette (model.hints, always packed)."""
        return self.predictor.hint_channel is not None

    @hints.setter
    def hints(self, on: bool) -> None:
        self.predictor.hint_channel = hint_channel() if on else None

    supports_hints = hints  # the name the applications ask with

    def with_temperature(self, temperature: float | None) -> Colorizer:
        """A copy that shares the weights but decodes at ``temperature`` (the page's slider)."""
        if temperature is None:
            return self
        other = copy.copy(self)
        other.predictor = self.predictor.with_temperature(temperature)
        return other

    def check_mode(self, mode: str, source: str = "--ckpt") -> None:
        """The temporal mode must match the generator's input channels (1, or 1 + 2)."""
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"--temporal {mode!r}: choose one of {list(TEMPORAL_MODES)}.")
        if mode == "dependent" and not self.temporal:
            raise CheckpointError(
                f"{source}: --temporal dependent needs a generator trained with the previous "
                "frame's colour (3 input channels, model=unet_gan_dependent); this one takes "
                "1 channel. Use --temporal independent or smooth.")
        if mode != "dependent" and self.temporal:
            raise CheckpointError(
                f"{source}: this generator takes the previous frame's colour (3 input channels); "
                f"--temporal {mode} gives it 1. Use --temporal dependent.")

    # ----------------------------------------------------------------- steps
    def net_size(self, height: int, width: int) -> tuple[int, int]:
        """Generator input size: short side at the training size, aspect kept, sides rounded to
        ``size_multiple``; the long side capped at ``max_aspect`` x the training size (a 1 x 4000
        strip gets a shorter short side, down to one ``size_multiple``)."""
        s, m = self.image_size, self.size_multiple
        if self.resize == "square":
            return s, s
        h, w = keep_aspect_size(height, width, s, m)  # the shape data.aspect_crops trains on
        cap = max(m, round(self.max_aspect * s / m) * m)
        if max(h, w) <= cap:
            return h, w
        scale = cap / max(height, width)
        return tuple(min(cap, max(m, round(x * scale / m) * m))  # type: ignore[return-value]
                     for x in (height, width))

    @torch.no_grad()
    def prepare(self, frames: torch.Tensor, carry: bool = False) -> Prepared:
        """uint8 or float RGB (B, 3, H, W) -> full-res L and the resized generator input
        [+ the gray at the carry grid of reference frames, ``carry``]."""
        rgb = uint8_to_float(frames.to(self.device, non_blocking=True))  # (B, 3, H, W)
        L_full, _ = rgb_to_lab_norm(rgb)  # (B, 1, H, W)
        resize = lambda x, size: F.interpolate(x, size=size, mode="bilinear", antialias=True,
                                               align_corners=False).clamp(0, 1)
        small = resize(rgb, self.net_size(*rgb.shape[-2:]))
        grid = resize(rgb_to_gray(rgb), carry_size(*rgb.shape[-2:])) if carry else None
        return Prepared(L_full, self.cs.encode_input(small), rgb_to_gray(small), carry=grid)

    @torch.no_grad()
    def prepare_luma(self, y: torch.Tensor, full_range: bool = False,
                     carry: bool = False) -> Prepared:
        """8-bit Y' planes uint8 (B, 1, H, W) -> generator input [+ the gray at the carry grid
        of reference frames, ``carry``]; no colour conversion."""
        y = y.to(self.device, non_blocking=True)  # (B, 1, H, W)
        chroma = (y.shape[-2] // 2, y.shape[-1] // 2)  # 4:2:0
        # Box average of every other luma sample to the net size: no full-resolution float
        # work (the affine level mapping commutes with averaging, so it is done on the small one).
        small = luma_to_gray(F.adaptive_avg_pool2d(y[..., ::2, ::2].float(),
                                                   self.net_size(*y.shape[-2:])), full_range)
        gray_c = F.avg_pool2d(luma_to_gray(y, full_range), 2) \
            if self.chroma_at == "planes" else None  # (B, 1, H/2, W/2), centre
        real_A = self.cs.encode_input(small.expand(-1, 3, -1, -1))  # (B, 1, h, w)
        grid = luma_to_gray(F.adaptive_avg_pool2d(y.float(), carry_size(*y.shape[-2:])),
                            full_range) if carry else None  # (B, 1, h', w')
        return Prepared(None, real_A, small, gray_c, chroma, grid)

    @torch.no_grad()
    def predict_ab(self, real_A: torch.Tensor, prev_ab: torch.Tensor | None = None,
                   planes: torch.Tensor | None = None,
                   palette: torch.Tensor | None = None) -> torch.Tensor:
        """Generator input (B, 1, s, s) [+ previous ab (B, 2, s, s)] [+ hint planes (B, 3, s, s),
        a reference palette (1 or B, D): hint checkpoints] -> normalised ab (B, 2, s, s)."""
        x = real_A
        if self.temporal:
            if prev_ab is None:
                prev_ab = real_A.new_zeros(real_A.shape[0], 2, *real_A.shape[-2:])
            else:  # the model's own scale, so the gain does not compound
                prev_ab = unscale_ab(prev_ab, self.chroma_gain, self.chroma_center)
            x = torch.cat([real_A, prev_ab.to(real_A.dtype)], dim=1)  # (B, 3, s, s)
        steered = False  # point hints or a reference: the chroma gain is automatic mode's only
        if self.hints or planes is not None or palette is not None:
            from colorgan.hints.user import pack_hints
            x, steered = pack_hints(x, planes, palette, self.hints)  # (B, C + 3 + D, s, s)
        # (B, 2, s, s): flip averaging, temperature, and the gain when nothing steers the colour
        return self.predictor.ab(x, real_A, gain=not steered)

    @torch.no_grad()
    def finish(self, L_full: torch.Tensor, ab_small: torch.Tensor) -> torch.Tensor:
        """Full-res L + small ab -> uint8 RGB (B, 3, H, W) on the CPU."""
        return float_to_uint8(recombine_full_resolution(L_full, ab_small)).cpu()

    @torch.no_grad()
    def finish_planes(self, prep: Prepared, ab_small: torch.Tensor, matrix: str,
                      full_range: bool) -> torch.Tensor:
        """Prepared batch + its ab -> Cb, Cr planes uint8 (B, 2, H/2, W/2) on the CPU, converted
        at the generator's size (``chroma_at="net"``) or the chroma planes' (``"planes"``)."""
        gray = prep.luma if self.chroma_at == "net" else prep.gray_c  # (B, 1, h, w)
        ab = ab_small.float()
        if prep.carry is not None and ab.shape[-2:] == prep.carry.shape[-2:] and \
                self.chroma_at == "net":  # colour carried from a reference: at its own grid
            gray = prep.carry
        if ab.shape[-2:] != gray.shape[-2:]:
            ab = F.interpolate(ab, size=gray.shape[-2:], mode="bilinear", align_corners=False)
        rgb = lab_norm_to_rgb(gray_to_l_norm(gray), ab)  # (B, 3, h, w)
        uv = rgb_to_chroma_planes(rgb, matrix, full_range)  # (B, 2, h, w)
        if uv.shape[-2:] != prep.chroma_size:
            lo, hi = (0, 255) if full_range else (16, 240)
            uv = F.interpolate(uv.float(), size=prep.chroma_size, mode="bilinear",
                               align_corners=False).round_().clamp_(lo, hi).to(torch.uint8)
        return uv.cpu()

    def colorize(self, frames: torch.Tensor, hints: list | None = None,
                 palette: torch.Tensor | None = None) -> torch.Tensor:
        """Frames one by one (no temporal link): uint8 or float RGB (B, 3, H, W) -> uint8
        (B, 3, H, W); ``hints`` (:class:`colorgan.hints.user.Point`, in the frames' pixels) and
        a reference ``palette`` (1, D) (:func:`colorgan.hints.user.reference_palette`) steer a
        hint checkpoint's colours."""
        p = self.prepare(frames)
        planes = None
        if hints:
            from colorgan.hints.user import hint_planes
            planes = hint_planes(hints, frames.shape[-2:], p.real_A.shape[-2:], frames.shape[0],
                                 self.device)
        return self.finish(p.L_full, self.predict_ab(p.real_A, planes=planes, palette=palette))


__all__ = ["MAX_ASPECT", "RESIZE_MODES", "TEMPORAL_MODES", "CheckpointError", "Colorizer", "Prepared",
           "pick_device"]
