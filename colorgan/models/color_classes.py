"""Colour as classification (Zhang, Isola & Efros 2016, "Colorful Image Colorization",
arXiv:1603.08511): ab is quantised to the in-gamut bins of a 10-unit grid, targets are
soft-encoded over the nearest bins, the loss is reweighted by the inverse of a smoothed
empirical prior, and a prediction is decoded by the annealed mean at a temperature T.
ab values (bin centres included) are in colorgan's normalised units (ab / 110).
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_lab

from colorgan.color import AB_SCALE, normalize_ab


@functools.lru_cache(maxsize=4)
def gamut_bins(grid: float = 10.0) -> torch.Tensor:
    """(Q, 2) centres (unnormalised ab) of the grid bins that sRGB colours (the 8-bit cube every
    3 levels) fall into: 261 for ``grid=10`` (Zhang et al. list 313; the extents agree)."""
    v = torch.arange(0, 256, 3, dtype=torch.float64) / 255.0
    r, g, b = torch.meshgrid(v, v, v, indexing="ij")
    rgb = torch.stack([r.flatten(), g.flatten(), b.flatten()])[None, :, :, None].float()
    ab = rgb_to_lab(rgb)[0, 1:, :, 0].T  # (N, 2)
    ij = torch.round(ab / grid).to(torch.int64) + 1024  # (N, 2), both >= 0
    key = torch.unique(ij[:, 0] * 4096 + ij[:, 1])  # (Q,) sorted: row order, as unique(dim=0)
    idx = torch.stack([key // 4096, key % 4096], 1) - 1024  # (Q, 2)
    return idx.to(torch.float32) * grid


class ColorBins(torch.nn.Module):
    """Quantisation, soft encoding and annealed-mean decoding over the gamut bins."""

    def __init__(self, grid: float = 10.0, neighbours: int = 5, sigma: float = 5.0) -> None:
        super().__init__()
        centres = normalize_ab(gamut_bins(float(grid)))  # (Q, 2) in normalised units
        self.register_buffer("centres", centres, persistent=False)
        self.neighbours, self.sigma = int(neighbours), float(sigma) / AB_SCALE

    @property
    def num_bins(self) -> int:
        return int(self.centres.shape[0])

    def _dist2(self, ab: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) -> squared distance to every centre (B, Q, H, W)."""
        c = self.centres.to(ab.dtype)  # |ab|^2 - 2 ab.c + |c|^2, without a (B, Q, 2, H, W) tensor
        cross = torch.einsum("bchw,qc->bqhw", ab, c)
        return (ab.pow(2).sum(1, keepdim=True) - 2.0 * cross + c.pow(2).sum(1).view(1, -1, 1, 1)
                ).clamp_min(0.0)

    def nearest(self, ab: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) normalised ab -> nearest bin index (B, H, W)."""
        return self._dist2(ab.float()).argmin(1)

    def encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2, H, W) -> the k nearest bins (B, k, H, W), nearest first, and their Gaussian
        weights (B, k, H, W), summing to 1: the soft target without its Q - k zeros."""
        d2 = self._dist2(ab.float())
        k = min(self.neighbours, self.num_bins)
        vals, idx = d2.topk(k, dim=1, largest=False, sorted=True)  # (B, k, H, W)
        return idx, torch.softmax(-vals / (2.0 * self.sigma ** 2), dim=1)

    def soft_encode(self, ab: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) -> (B, Q, H, W): Gaussian weights over the k nearest bins (sum 1)."""
        idx, w = self.encode(ab)
        b, _, h, wd = ab.shape
        return torch.zeros(b, self.num_bins, h, wd, dtype=w.dtype,
                           device=w.device).scatter_(1, idx, w)

    def decode(self, logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Annealed mean: softmax(log p / T), then the expected bin centre -> (B, 2, H, W)
        (T = 1: the mean, dull; T -> 0: the mode, vivid; Zhang et al. use 0.38)."""
        if temperature <= 0:
            raise ValueError(f"temperature={temperature} must be > 0 (1 = mean, small = mode).")
        p = torch.softmax(logits.float() / float(temperature), dim=1)  # (B, Q, H, W)
        return torch.einsum("bqhw,qc->bchw", p, self.centres.to(p.dtype))


class ClassRebalance:
    """Per-bin loss weights w ~ ((1 - lam) p_smooth + lam / Q) ** -1, normalised so that
    E_p_smooth[w] = 1 (Zhang et al. 2016, eq. 4; lam = 0.5, Gaussian smoothing sigma = 5 ab
    units). A plain object, not a module: the weights follow from the saved prior."""

    def __init__(self, prior: torch.Tensor, centres: torch.Tensor, lam: float = 0.5,
                 sigma: float = 5.0) -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"model.classification.rebalance={lam} must be in [0, 1].")
        c = centres.double() * AB_SCALE  # (Q, 2) in ab units
        kernel = torch.exp(-torch.cdist(c, c).pow(2) / (2.0 * sigma ** 2))  # (Q, Q)
        smooth = kernel @ prior.double()
        smooth = smooth / smooth.sum()
        w = 1.0 / ((1.0 - lam) * smooth + lam / prior.numel())
        self.weights = (w / (smooth * w).sum()).float()  # (Q,)

    def to(self, device) -> ClassRebalance:
        self.weights = self.weights.to(device)
        return self

    def __call__(self, target_bins: torch.Tensor) -> torch.Tensor:
        """(B, H, W) nearest-bin indices -> (B, H, W) weights."""
        return self.weights[target_bins]


def _drop_output_tanh(net: torch.nn.Module) -> None:
    """Replace the generator's output Tanh by an identity (pix2pix nets have exactly one)."""
    found = [(parent, name) for parent in net.modules() for name, m in parent._modules.items()
             if isinstance(m, torch.nn.Tanh)]
    if len(found) != 1:
        raise ValueError(f"model.classification needs a generator with one output Tanh; "
                         f"{type(net).__name__} has {len(found)}.")
    parent, name = found[0]
    parent._modules[name] = torch.nn.Identity()


class BinnedGenerator(torch.nn.Module):
    """A netG predicting Q bin logits per pixel, returning their annealed mean (B, 2, H, W).
    ``head_width``: the net ends in that many features and a 1x1 convolution gives the logits
    (as Zhang et al.'s network); None: the net's last layer gives them itself (~3x the cost)."""

    def __init__(self, net: torch.nn.Module, bins: ColorBins, temperature: float = 0.38,
                 head_width: int | None = None) -> None:
        super().__init__()
        _drop_output_tanh(net)  # logits (or the head's features) must be unbounded
        self.net, self.bins = net, bins
        self.head = None if head_width is None else torch.nn.Sequential(
            torch.nn.ReLU(), torch.nn.Conv2d(int(head_width), bins.num_bins, 1))
        self.temperature = float(temperature)
        self.size_multiple = getattr(net, "size_multiple", 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)  # (B, Q or head_width, H, W)
        return y if self.head is None else self.head(y)

    def forward(self, x: torch.Tensor, return_logits: bool = False) -> torch.Tensor:
        logits = self.logits(x)  # (B, Q, H, W)
        return logits if return_logits else self.bins.decode(logits, self.temperature)


def empirical_prior(batches, bins: ColorBins, max_batches: int = 200) -> torch.Tensor:
    """Fraction of pixels per bin over ``batches`` of float RGB (B, 3, H, W) in [0, 1]."""
    counts = torch.zeros(bins.num_bins, dtype=torch.float64)
    for i, rgb in enumerate(batches):
        if i >= max_batches:
            break
        ab = normalize_ab(rgb_to_lab(rgb.float().clamp(0, 1))[:, 1:])
        counts += torch.bincount(bins.nearest(ab).flatten(), minlength=bins.num_bins).double()
    if counts.sum() == 0:
        raise ValueError("cannot estimate the colour prior: the training data gave no pixels.")
    return (counts / counts.sum()).float()


def cached_prior(cache_dir: str | Path | None, key: str, compute) -> torch.Tensor:
    """The prior for ``key`` from ``cache_dir/prior-<hash>.json``, computed once otherwise."""
    if cache_dir is None:
        return compute()
    from colorgan.utils.atomic import write_text_atomic

    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"prior-{digest}.json"
    try:
        data = json.loads(path.read_text())
        if data.get("key") == key:
            return torch.tensor(data["prior"], dtype=torch.float32)
    except (OSError, ValueError, KeyError):
        pass
    prior = compute()
    write_text_atomic(path, json.dumps({"key": key, "prior": prior.tolist()}))
    return prior


def training_prior(dm, bins: ColorBins, cls: dict) -> torch.Tensor:
    """The ab prior (Q,) of ``dm``'s first ``prior_images`` training photos (cached)."""
    from colorgan.color import uint8_to_float

    data = dm.data_train
    n = min(len(data), int(cls.get("prior_images", 2000)))
    key = (f"{type(dm).__name__}|{getattr(dm, 'root', '')}|{dm.image_size}|{len(data)}|"
           f"{n}|{cls.get('grid', 10.0)}")

    def batches(bs: int = 64):
        for i in range(0, n, bs):
            yield uint8_to_float(torch.stack([data[j]["rgb"] for j in range(i, min(n, i + bs))]))

    return cached_prior(cls.get("cache_dir"), key,
                        lambda: empirical_prior(batches(), bins.cpu(), max_batches=10 ** 9))


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
                       weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel cross-entropy with soft targets (dense (B, Q, H, W), or ``(idx, w)`` from
    :meth:`ColorBins.encode`), weighted per pixel (B, H, W), averaged."""
    logp = F.log_softmax(logits.float(), dim=1)  # (B, Q, H, W)
    if isinstance(target, tuple):
        idx, w = target
        ce = -(w * logp.gather(1, idx)).sum(1)  # (B, H, W)
    else:
        ce = -(target * logp).sum(1)
    if weights is not None:
        ce = ce * weights
    return ce.mean()


__all__ = ["BinnedGenerator", "ClassRebalance", "ColorBins", "cached_prior", "empirical_prior", "gamut_bins",
           "soft_cross_entropy", "training_prior"]
