"""Test-time augmentation: the generator's prediction averaged over a horizontal flip and
one-pixel shifts of its input, each mapped back before averaging (``model.tta_flip``,
``model.tta_shifts``; ``colorgan colorize --flip --tta-shifts``).

A shifted input meets the U-Net's stride-2 grid at another phase, so the shifted predictions
differ like the members of a small ensemble and their mean is closer to the truth: on CIFAR-10
four shifts on top of the flip add 0.03-0.04 dB at equal colour (experiments/quality, table 19).
The cost is ``(1 + shifts) x (2 if flip else 1)`` generator passes; training is unchanged.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

SHIFTS: dict[int, tuple[tuple[int, int], ...]] = {  # (dy, dx) besides the identity
    0: (),
    4: ((0, 1), (1, 0), (0, -1), (-1, 0)),
    8: ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)),
}


def check_tta_shifts(shifts: int, option: str = "model.tta_shifts") -> int:
    value = shifts if isinstance(shifts, int) and not isinstance(shifts, bool) else \
        int(shifts) if isinstance(shifts, str) and shifts.strip().isdigit() else -1
    if value not in SHIFTS:
        raise ValueError(f"{option}={shifts!r}: choose one of {sorted(SHIFTS)} (0 = off, 4 = one "
                         "pixel left/right/up/down, 8 = also the diagonals).")
    return value


def shift(x: torch.Tensor, dy: int, dx: int, mode: str) -> torch.Tensor:
    """(B, C, H, W) -> the same size, ``out[i, j] = x[i + dy, j + dx]``; the border is filled
    by ``mode`` padding ("reflect" for inputs, "constant" (zeros) to map predictions back)."""
    if dy == dx == 0:
        return x
    H, W = x.shape[-2:]
    p = max(abs(dy), abs(dx))
    padded = F.pad(x, (p, p, p, p), mode=mode)
    return padded[..., p + dy:p + dy + H, p + dx:p + dx + W]


def tta_predict(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, flip: bool = False,
                shifts: int = 0) -> torch.Tensor:
    """Generator input (B, C_in, H, W) -> mean output (B, C_out, H, W) in float32 over the
    identity, ``shifts`` one-pixel shifts and, with ``flip``, the mirror image of each."""
    total = count = None
    ones = x.new_ones(1, 1, *x.shape[-2:], dtype=torch.float32)  # (1, 1, H, W)
    for dy, dx in ((0, 0), *SHIFTS[check_tta_shifts(shifts, "shifts")]):
        xs = shift(x, dy, dx, "reflect")
        outs = [net(xs).float()]  # (B, C_out, H, W)
        if flip:
            outs.append(net(xs.flip(-1)).float().flip(-1))
        valid = shift(ones, -dy, -dx, "constant")  # 0 where the shifted input was padding
        for out in outs:
            out = shift(out, -dy, -dx, "constant") * valid  # back onto the input's pixel grid
            total = out if total is None else total + out
            count = valid if count is None else count + valid
    return total / count
