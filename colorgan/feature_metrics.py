"""Optional evaluation metrics on deep features, from torchmetrics: FID (Heusel et al. 2017,
arXiv:1706.08500) and LPIPS (Zhang et al. 2018, arXiv:1801.03924). Where their weights cannot be
had, the metric is skipped with a one-line reason (:attr:`FeatureMetrics.skipped`).
"""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.error import URLError

import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

log = logging.getLogger("colorgan")
FID_FEATURES = 2048  # Inception v3's pool features, the standard FID
FID_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception
LPIPS_NETS = ("alex", "vgg", "squeeze")
UNAVAILABLE = (OSError, RuntimeError, ImportError)  # URLError offline, a bad hash, no package


def _reason(name: str, what: str, e: BaseException, todo: str) -> str:
    if isinstance(e, ImportError):  # torchmetrics' FID without torch-fidelity
        return f"{name} skipped: torch-fidelity is not installed; pip install torch-fidelity " \
               "(or colorgan[metrics])."
    return f"{name} skipped: {what} could not be loaded ({_first_line(e)}" \
           f"{'; offline?' if isinstance(e, URLError) else ''}); {todo}"


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


class FeatureMetrics(torch.nn.Module):
    """FID (fake set vs real set) and mean LPIPS (image by image) on RGB (B, 3, H, W) in [0, 1];
    ``fid_feature`` replaces the Inception by any module mapping images to (B, F) features."""

    def __init__(self, fid: bool = False, lpips: bool = False, lpips_net: str = "alex",
                 fid_weights: str | None = None, fid_feature: torch.nn.Module | None = None) -> None:
        super().__init__()
        if lpips_net not in LPIPS_NETS:
            raise ValueError(f"metrics.lpips_net={lpips_net!r}: choose one of {list(LPIPS_NETS)} "
                             "(alex is LPIPS's default and what papers report).")
        self.metrics = torch.nn.ModuleDict()
        self.skipped: dict[str, str] = {}
        if fid and fid_weights and not Path(fid_weights).is_file():  # the user's file, first
            self.skip("fid", f"FID skipped: metrics.fid_weights={fid_weights} could not be "
                             "loaded (No such file); pass the path of torch-fidelity's "
                             f"{FID_WEIGHTS}, or leave it out to download it once online.")
        elif fid:
            try:
                self.metrics["fid"] = FrechetInceptionDistance(
                    feature=fid_feature if fid_feature is not None else FID_FEATURES,
                    normalize=True, feature_extractor_weights_path=fid_weights)
            except UNAVAILABLE as e:
                what = (f"metrics.fid_weights={fid_weights}" if fid_weights else
                        f"the Inception weights of torch-fidelity ({FID_WEIGHTS})")
                self.skip("fid", _reason("FID", what, e,
                    "run once online, or pass metrics.fid_weights=PATH (that file)."))
        if lpips:
            try:
                self.metrics["lpips"] = LearnedPerceptualImagePatchSimilarity(
                    net_type=lpips_net, normalize=True)  # inputs in [0, 1]
            except UNAVAILABLE as e:
                self.skip("lpips", _reason(
                    "LPIPS", f"torchvision's {lpips_net} weights", e,
                    "run once online (they are cached in torch's hub folder)."))

    def skip(self, name: str, reason: str) -> None:
        self.skipped[name] = reason
        log.warning(reason)

    def update(self, fake_rgb: torch.Tensor, real_rgb: torch.Tensor) -> None:
        """Colorizations and truths (B, 3, H, W); a metric failing on them is skipped, not a crash."""
        for name in list(self.metrics):
            try:
                if name == "fid":
                    self.metrics[name].update(real_rgb, real=True)
                    self.metrics[name].update(fake_rgb, real=False)
                else:
                    self.metrics[name].update(fake_rgb.clamp(0, 1), real_rgb.clamp(0, 1))
            except RuntimeError as e:
                del self.metrics[name]
                self.skip(name, f"{name.upper()} skipped: it failed on images of "
                                f"{tuple(fake_rgb.shape[-2:])} px ({_first_line(e)}).")

    def compute(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, metric in self.metrics.items():
            try:
                out[name] = metric.compute().float()
            except RuntimeError as e:  # FID on fewer than 2 images
                self.skip(name, f"{name.upper()} skipped: {e}")
        return out

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()


__all__ = ["FID_FEATURES", "FeatureMetrics", "LPIPS_NETS"]
