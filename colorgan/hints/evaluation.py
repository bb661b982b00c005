"""Evaluation with simulated hints: ``python eval.py ... hints.points=N hints.reference=self``.

Every test photo gets ``N`` point hints of side 3 at places fixed by its file name and
``hints.seed`` (:func:`colorgan.hints.simulate.eval_boxes`), each revealing the mean true colour
of its patch (:func:`colorgan.hints.encode.patch_planes`), as Zhang, Zhu et al. (2017,
arXiv:1705.02999) evaluate with simulated points: the same points for every model and run.
The global hint is none, the photo's own palette (``self``) or the palette of another test
photo of the same class folder (``class``). The classic baselines
(:mod:`colorgan.hints.baselines`) fill the same L from the same hint planes, scored by the same
metrics as the model (:class:`colorgan.metrics.ColorMetrics`).
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from colorgan.color import (
    denormalize_ab,
    denormalize_l,
    lab_norm_to_rgb,
    normalize_ab,
    rgb_to_lab_norm,
    uint8_to_float,
)
from colorgan.data.images import load_rgb
from colorgan.hints.baselines import LUMA_WEIGHT, levin_fill, nearest_fill
from colorgan.hints.encode import no_palette, palette, patch_planes
from colorgan.hints.simulate import eval_boxes
from colorgan.metrics import ColorMetrics
from colorgan.predictor import check_hint_mix
from colorgan.utils.config import ConfigError

REFERENCES = ("none", "self", "class")
EVAL_SIDE = 3  # the points' patch side, as eval_boxes' default (3 px at 64 px)
# hint_baselines rows: name -> fill(L (B,1,H,W) in [0, 100], hint_ab (B,2,H,W) Lab, mask) -> ab
BASELINES: dict[str, Callable[..., torch.Tensor]] = {
    "levin": levin_fill,
    "nearest": nearest_fill,
    "nearest_l": functools.partial(nearest_fill, luma_weight=LUMA_WEIGHT),
}
BASELINE_LABELS = {"levin": "Levin et al. 2004 (same points)",
                   "nearest": "nearest hint (same points)",
                   "nearest_l": f"nearest hint + L, {LUMA_WEIGHT:g} px per L unit (same points)"}


@dataclass(frozen=True)
class HintOptions:
    """eval's ``hints`` options (conf/eval.yaml)."""

    points: int = 0
    seed: int = 0
    reference: str = "none"
    baselines: bool = True
    mix: Any = "auto"  # a hint model's share of Levin's fill with points: auto (its own) | [0, 1]

    @property
    def active(self) -> bool:
        """Whether any hint is given (then a hint model's chroma gain is 1)."""
        return self.points > 0 or self.reference != "none"

    def as_dict(self) -> dict[str, Any]:
        return {"points": self.points, "seed": self.seed, "reference": self.reference,
                "side": EVAL_SIDE}


def _int(value: Any, option: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{option}={value!r} must be an integer >= {lo} "
                          "(e.g. hints.points=10 hints.seed=0).")
    return value


def hint_options(cfg: Any) -> HintOptions:
    """``cfg.hints`` (None: no hints) -> checked options; a bad value is named."""
    cfg = dict(cfg or {})
    known = {"points", "seed", "reference", "baselines", "mix"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"hints: unknown option(s) {unknown}; known: {sorted(known)}.")
    reference = str(cfg.get("reference") or "none")
    if reference not in REFERENCES:
        raise ConfigError(f"hints.reference={cfg.get('reference')!r} is not supported; choose "
                          f"one of {list(REFERENCES)} (self: the photo's own palette, class: "
                          "another test photo of its class folder).")
    return HintOptions(points=_int(cfg.get("points", 0), "hints.points", 0),
                       seed=_int(cfg.get("seed", 0), "hints.seed", 0), reference=reference,
                       baselines=bool(cfg.get("baselines", True)),
                       mix=_mix(cfg.get("mix", "auto")))


def _mix(value: Any) -> Any:
    """hints.mix: auto | a share in [0, 1] (:meth:`Predictor.mixed_with_levin`)."""
    if value is None or str(value).lower() == "auto":
        return "auto"
    try:
        return check_hint_mix(value, "hints.mix")
    except ValueError as e:
        raise ConfigError(f"{e} Or auto (the default).") from None


def class_references(files: list[Path], size: int | None) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Each photo (by file name) -> the palette (D,) of the next photo, by name, of its own
    folder among ``files`` (cyclic); also the names of photos alone in their folder."""
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ConfigError("hints.reference=class: the split's file names are not unique, and "
                          "the file name is the photo's key; rename the duplicates or use "
                          "hints.reference=self.")
    folders: dict[Path, list[Path]] = {}
    for f in files:
        folders.setdefault(f.parent, []).append(f)
    refs, alone = {}, []
    for group in folders.values():
        group = sorted(group, key=lambda p: p.name)
        if len(group) < 2:
            alone += [p.name for p in group]
            continue
        for i, f in enumerate(group):
            rgb = uint8_to_float(load_rgb(group[(i + 1) % len(group)], size))[None]  # (1,3,H,W)
            refs[f.name] = palette(rgb_to_lab_norm(rgb)[1])[0]  # (D,)
    return refs, alone


class EvalHints:
    """The callable :attr:`ColorizationGAN.eval_hints` takes: (batch, real_B normalised ab)
    -> (hint planes (B, 3, H, W) or None, palette (B, D) or None)."""

    def __init__(self, options: HintOptions, references: dict[str, torch.Tensor] | None = None):
        self.options = options
        self.references = references or {}

    def keys(self, batch: dict) -> list[str]:
        keys = batch.get("key")
        if keys is None:
            raise ConfigError(f"hints.points={self.options.points} / hints.reference="
                              f"{self.options.reference}: the points and references are placed "
                              "by each photo's file name, and this dataset has none; use "
                              "file-backed data (data=folder data.root=DIR, data=landscapes).")
        return [str(k) for k in keys]

    def planes(self, batch: dict, ab: torch.Tensor) -> torch.Tensor | None:
        """True normalised ab (B, 2, H, W) -> the points' hint planes (B, 3, H, W)."""
        if self.options.points == 0:
            return None
        _, _, h, w = ab.shape
        n, seed = self.options.points, self.options.seed
        return patch_planes(ab, [eval_boxes(k, seed, n, h, w, side=EVAL_SIDE)
                                 for k in self.keys(batch)])

    def palette(self, batch: dict, ab: torch.Tensor) -> torch.Tensor | None:
        ref = self.options.reference
        if ref == "none":
            return None
        if ref == "self":
            return palette(ab)  # (B, D)
        out = no_palette(ab.shape[0], ab.device)  # a photo alone in its class: no reference
        for i, k in enumerate(self.keys(batch)):
            if k in self.references:
                out[i] = self.references[k].to(ab.device)
        return out

    def __call__(self, batch: dict, real_B: torch.Tensor):
        return self.planes(batch, real_B), self.palette(batch, real_B)


def make_eval_hints(options: HintOptions, dataset: Any, size: int | None) -> tuple[EvalHints, dict]:
    """The callable for ``dataset`` (the split being evaluated) and what to record about it."""
    info: dict[str, Any] = {}
    refs = None
    if options.reference == "class":
        files = getattr(dataset, "files", None)
        if files is None:
            raise ConfigError("hints.reference=class needs a file-backed dataset with class "
                              "folders (data=folder data.root=DIR, data=landscapes).")
        refs, alone = class_references(list(files), size)
        info["references_missing"] = len(alone)
        if alone:
            warnings.warn(f"hints.reference=class: {len(alone)} photo(s) are alone in their "
                          f"folder in this split (e.g. {alone[0]}); they get no reference.",
                          stacklevel=2)
    return EvalHints(options, refs), info


@torch.no_grad()
def baseline_metrics(loader, transfer: Callable[[dict], dict], hints: EvalHints,
                     prefix: str) -> dict[str, dict[str, float]]:
    """Each classic baseline's flat metrics ``{prefix}psnr, ...`` on the loader's photos, from
    the same L and the same hint planes as the model."""
    metrics = {name: ColorMetrics(prefix) for name in BASELINES}
    for batch in loader:
        batch = transfer(batch)
        rgb = batch["rgb"].float().cpu()  # (B, 3, H, W) in [0, 1]
        L_norm, ab = rgb_to_lab_norm(rgb)
        planes = hints.planes(batch, ab)
        if planes is None:
            planes = torch.zeros(ab.shape[0], 3, *ab.shape[2:])
        L = denormalize_l(L_norm).clamp(0.0, 100.0)  # (B, 1, H, W) Lab lightness
        hint_ab, mask = denormalize_ab(planes[:, :2]), planes[:, 2:3]  # Lab units, (B, 1, H, W)
        gray = lab_norm_to_rgb(L_norm, torch.zeros_like(ab))
        real = rgb.clamp(0.0, 1.0)
        for name, fill in BASELINES.items():
            fake = lab_norm_to_rgb(L_norm, normalize_ab(fill(L, hint_ab, mask)))
            metrics[name].update(fake, gray, real)
    return {name: {k: float(v) for k, v in m.compute().items()} for name, m in metrics.items()}


__all__ = ["BASELINES", "BASELINE_LABELS", "EVAL_SIDE", "REFERENCES", "EvalHints", "HintOptions",
           "baseline_metrics", "class_references", "hint_options", "make_eval_hints"]
