"""Classic, non-learned propagation of colour hints: the baselines a learned hint model must beat.

- :func:`nearest_fill`: every pixel takes the colour of the nearest hinted pixel, by spatial
  distance, or ("+L") spatial distance plus ``luma_weight`` x the lightness difference.
- :func:`levin_fill`: Levin, Lischinski & Weiss, "Colorization using Optimization" (SIGGRAPH
  2004): neighbouring pixels of similar lightness get similar colours, hints held fixed; one
  sparse linear system per image (the weights of the authors' ``getColorExact.m``).

The hint format shared with the rest of the hints work (Zhang et al. 2017):
``L`` (B, 1, H, W) Lab lightness in [0, 100]; ``hint_ab`` (B, 2, H, W) Lab a/b, zero where no
hint; ``mask`` (B, 1, H, W) 1.0 where a hint is given (> 0.5 counts as hinted). Both return ab
(B, 2, H, W) in Lab units, same dtype and device as ``L``: hinted pixels keep their hint
exactly, an image without any hint is gray (ab = 0).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree

LUMA_WEIGHT = 2.0  # "+L" default: 1 Lab L unit costs 2 pixels (near-best at 64 and 256 px; docs/hints.md)
LEVIN_EPS = 2e-6  # floor on the affinity's variance (Y = L / 100), as in getColorExact.m
L_RANGE = (-0.1, 100.1)  # Lab lightness, with room for conversion round-off
AB_LIMIT = 128.0  # |a|, |b| of any sRGB colour is below ~110; 128 is the Lab int8 range
CHUNK = 1 << 20  # pixel x hint distances computed at once by nearest_fill +L (4 MB in float32)


def check_hints(L: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor) -> None:
    """ValueError naming the argument when the hint tensors do not follow the format above."""
    for name, x, c in (("L", L, 1), ("hint_ab", hint_ab, 2), ("mask", mask, 1)):
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor (B, {c}, H, W), got {type(x).__name__}.")
        if x.dim() != 4 or x.shape[1] != c:
            raise ValueError(f"{name} must have shape (B, {c}, H, W), got {tuple(x.shape)}.")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a float tensor, got {x.dtype}.")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values; every value must be finite.")
    B, _, H, W = L.shape
    for name, x in (("hint_ab", hint_ab), ("mask", mask)):
        if x.device != L.device:
            raise ValueError(f"{name} is on {x.device} but L is on {L.device}: put all three on "
                             "one device.")
        if (x.shape[0], x.shape[2], x.shape[3]) != (B, H, W):
            raise ValueError(f"{name} has shape {tuple(x.shape)} but L is {tuple(L.shape)}: "
                             "batch size, height and width must match.")
    lo, hi = float(L.min()), float(L.max())
    if lo < L_RANGE[0] or hi > L_RANGE[1]:
        raise ValueError(f"L must be Lab lightness in [0, 100], got values in [{lo:.3g}, {hi:.3g}] "
                         "(normalised L in [-1, 1] is colorgan.color.denormalize_l's input).")
    if float(hint_ab.abs().max()) > AB_LIMIT:
        raise ValueError(f"hint_ab must be Lab a/b within [-{AB_LIMIT:g}, {AB_LIMIT:g}], got "
                         f"|ab| up to {float(hint_ab.abs().max()):.3g} (not 0-255 or RGB values).")
    if float(mask.min()) < 0.0 or float(mask.max()) > 1.0:
        raise ValueError(f"mask must be 1.0 where a hint is given and 0.0 elsewhere, got values in "
                         f"[{float(mask.min()):.3g}, {float(mask.max()):.3g}].")


def nearest_fill(L: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor,
                 luma_weight: float = 0.0) -> torch.Tensor:
    """ab (B, 2, H, W) of each pixel's nearest hinted pixel; with ``luma_weight`` > 0 the
    distance is Euclidean pixels + luma_weight * |L - L_hint| (the "+L" variant: use
    :data:`LUMA_WEIGHT`). The plain distance is answered by a k-d tree (scipy), the "+L"
    one by chunked torch on the input's device."""
    check_hints(L, hint_ab, mask)
    try:
        luma_weight = float(luma_weight)
    except (TypeError, ValueError):
        luma_weight = float("nan")
    if not (luma_weight >= 0 and math.isfinite(luma_weight)):
        raise ValueError(f"luma_weight={luma_weight}: must be a finite number >= 0 "
                         f"(0 = spatial distance only, {LUMA_WEIGHT:g} = the '+L' default).")
    B, _, H, W = L.shape
    out = torch.zeros_like(hint_ab, dtype=L.dtype, device=L.device)  # (B, 2, H, W)
    dtype = torch.float64 if L.dtype == torch.float64 else torch.float32
    ys, xs = torch.meshgrid(torch.arange(H, device=L.device, dtype=dtype),
                            torch.arange(W, device=L.device, dtype=dtype), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()  # (P,)
    for b in range(B):
        hinted = mask[b, 0].flatten() > 0.5  # (P,)
        idx = hinted.nonzero().squeeze(1)  # (N,)
        if idx.numel() == 0:
            continue
        if luma_weight == 0:  # a k-d tree over the hinted pixels' positions
            tree = cKDTree(torch.stack([ys[idx], xs[idx]], 1).cpu().numpy())  # N points
            _, near = tree.query(np.stack([ys.cpu().numpy(), xs.cpu().numpy()], 1))  # (P,)
            nearest = torch.from_numpy(near).to(L.device)
        else:
            nearest = _nearest_with_luma(ys, xs, L[b, 0].flatten().to(dtype), idx, luma_weight)
        ab = hint_ab[b].flatten(1)  # (2, P)
        filled = ab[:, idx[nearest]]  # (2, P)
        filled[:, hinted] = ab[:, hinted]
        out[b] = filled.view(2, H, W).to(L.dtype)
    return out


def _nearest_with_luma(ys: torch.Tensor, xs: torch.Tensor, lum: torch.Tensor, idx: torch.Tensor,
                       luma_weight: float) -> torch.Tensor:
    """(P,) index into ``idx`` (N,) of the hint nearest each pixel by pixels + luma_weight * |dL|,
    the (P, N) distances computed in cache-sized chunks of pixels."""
    hy, hx, hl = ys[idx], xs[idx], lum[idx]  # (N,)
    nearest = torch.empty(ys.numel(), dtype=torch.long, device=ys.device)  # (P,)
    step = max(1, CHUNK // idx.numel())
    for s in range(0, ys.numel(), step):
        c = slice(s, s + step)
        d = torch.hypot(ys[c, None] - hy, xs[c, None] - hx)  # (chunk, N)
        d.add_((lum[c, None] - hl).abs_(), alpha=luma_weight)
        nearest[c] = d.argmin(dim=1)
    return nearest


def levin_system(Y: np.ndarray, hinted: np.ndarray, window: int = 1,
                 eps: float = LEVIN_EPS):
    """The sparse matrix (P, P), P = H * W, of Levin et al. (2004) for lightness ``Y`` (H, W)
    in [0, 1]: row r is U(r) - sum_s w_rs U(s) for an unhinted pixel, U(r) for a hinted one.

    w_rs ∝ exp(-(Y(r) - Y(s))^2 / sigma_r) over the (2 window + 1)^2 neighbours s inside the
    image, with sigma_r = max(0.6 var_r, -min_s (Y(r) - Y(s))^2 / ln 0.01, eps) (var_r: the
    variance of Y in the window around r), as in the authors' getColorExact.m."""
    H, W = Y.shape
    r = window
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if (dy, dx) != (0, 0)]
    pad_y = np.pad(Y, r, constant_values=np.nan)
    pad_i = np.pad(np.arange(H * W).reshape(H, W), r, constant_values=-1)
    win = np.stack([pad_y[r + dy:r + dy + H, r + dx:r + dx + W] for dy, dx in offsets])  # (K, H, W)
    cols = np.stack([pad_i[r + dy:r + dy + H, r + dx:r + dx + W] for dy, dx in offsets])  # (K, H, W)
    inside = cols >= 0  # (K, H, W)
    count = inside.sum(0) + 1.0  # (H, W) window pixels, centre included
    win0 = np.where(inside, win, 0.0)
    mean = (win0.sum(0) + Y) / count
    var = (np.where(inside, (win0 - mean) ** 2, 0.0).sum(0) + (Y - mean) ** 2) / count  # (H, W)
    d2 = np.where(inside, (win0 - Y) ** 2, 0.0)  # (K, H, W)
    d2_min = np.where(inside, d2, np.inf).min(0)  # (H, W), inf for a 1 x 1 image
    sigma = np.maximum(0.6 * var, -np.where(np.isfinite(d2_min), d2_min, 0.0) / math.log(0.01))
    w = np.where(inside, np.exp(-d2 / np.maximum(sigma, eps)), 0.0)  # (K, H, W)
    w /= np.maximum(w.sum(0), 1e-300)  # the nearest neighbour's weight is >= 0.01 of the most
    keep = inside & ~hinted  # hinted rows hold only their diagonal
    rows = np.broadcast_to(np.arange(H * W).reshape(H, W), keep.shape)[keep]
    diag = np.arange(H * W)
    A = coo_matrix((np.concatenate([np.ones(H * W), -w[keep]]),
                    (np.concatenate([diag, rows]), np.concatenate([diag, cols[keep]]))),
                   shape=(H * W, H * W))
    return A.tocsr()


def dissection_order(H: int, W: int, window: int = 1, leaf: int = 8) -> np.ndarray:
    """A nested-dissection permutation (P,) of an H x W grid (George 1973): halves first, the
    ``window``-wide line between them last, so the LU of the Levin system fills in ~3x less
    than with SuperLU's own COLAMD order (1.0 s instead of 3.7 s of CPU at 512 px)."""
    def parts(idx: np.ndarray) -> list[np.ndarray]:
        h, w = idx.shape
        if h * w <= leaf * leaf or min(h, w) <= 2 * window:
            return [idx.ravel()]
        if h >= w:
            m = h // 2
            return parts(idx[:m]) + parts(idx[m + window:]) + [idx[m:m + window].ravel()]
        m = w // 2
        return parts(idx[:, :m]) + parts(idx[:, m + window:]) + [idx[:, m:m + window].ravel()]
    return np.concatenate(parts(np.arange(H * W).reshape(H, W)))


def levin_fill(L: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor, window: int = 1,
               eps: float = LEVIN_EPS) -> torch.Tensor:
    """ab (B, 2, H, W) propagated from the hints by Levin et al. (2004), with Y = L / 100 and
    (2 window + 1)^2 neighbourhoods; one sparse LU (SuperLU) per image solves a and b.

    The LU takes the diagonal pivots in nested-dissection order: every unhinted row sums to 0
    with a unit diagonal and hinted rows are the identity, so the matrix is diagonally dominant
    and elimination without row exchanges is stable."""
    check_hints(L, hint_ab, mask)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window={window!r}: must be an integer >= 1 (1 = 3x3 neighbourhoods).")
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps={eps}: must be a finite number > 0 (default {LEVIN_EPS:g}).")
    B, _, H, W = L.shape
    out = torch.zeros_like(hint_ab, dtype=L.dtype, device=L.device)  # (B, 2, H, W)
    order = dissection_order(H, W, window)  # (P,)
    for b in range(B):
        hinted = (mask[b, 0] > 0.5).cpu().numpy()  # (H, W)
        if not hinted.any():
            continue
        Y = L[b, 0].detach().cpu().double().numpy() / 100.0  # (H, W)
        ab = hint_ab[b].detach().cpu().double().numpy().reshape(2, -1)  # (2, P)
        rhs = np.where(hinted.reshape(1, -1), ab, 0.0).T  # (P, 2)
        A = levin_system(Y, hinted, window, eps)[order][:, order].tocsc()  # (P, P) reordered
        U = np.empty_like(rhs)  # (P, 2)
        U[order] = splu(A, permc_spec="NATURAL", diag_pivot_thresh=0.0).solve(rhs[order])
        U[hinted.ravel()] = rhs[hinted.ravel()]
        out[b] = torch.from_numpy(U.T.reshape(2, H, W)).to(L.device, L.dtype)
    return out
