"""Photo files the hostile-photo tests write themselves: a hand-built Adobe RGB (1998) ICC
profile (Pillow builds only sRGB/LAB/XYZ ones), the CIE L* of its colours, and a colorize spy.

(No tests here; imported by test_hostile_photos_*.py.)
"""
from __future__ import annotations

import struct

import numpy as np

# Adobe RGB (1998): D50-adapted colorants and gamma 563/256, as in Adobe's own profile
ADOBE_XYZ = {"rXYZ": (0.6097, 0.3111, 0.0195), "gXYZ": (0.2053, 0.6257, 0.0609),
             "bXYZ": (0.1492, 0.0632, 0.7446)}
ADOBE_GAMMA = 563 / 256
D50 = (0.9642, 1.0, 0.8249)


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def _xyz(v) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)


def _desc(text: str) -> bytes:  # ICC v2 textDescriptionType
    a = text.encode() + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(a)) + a + b"\0" * 8 + b"\0\0\0" + b"\0" * 67


def matrix_profile(name: str = "Adobe RGB (1998)", colorants=ADOBE_XYZ,
                   gamma: float = ADOBE_GAMMA) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile."""
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(D50)), (b"cprt", b"text\0\0\0\0none\0")]
    tags += [(k.encode(), _xyz(v)) for k, v in colorants.items()]
    tags += [(k, curv) for k in (b"rTRC", b"gTRC", b"bTRC")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24
              + struct.pack(">I", 0) + b"".join(_s15(c) for c in D50) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def lstar(Y: float) -> float:
    """CIE L* of a relative luminance Y (white = 1)."""
    f = Y ** (1 / 3) if Y > (6 / 29) ** 3 else Y / (3 * (6 / 29) ** 2) + 4 / 29
    return 116 * f - 16


def adobe_lstar(rgb) -> float:
    """L* of an Adobe RGB (1998) 8-bit colour (the specification's D65 luminance row): the
    truth for a colour-managed reader."""
    lin = (np.asarray(rgb, dtype=np.float64) / 255) ** ADOBE_GAMMA
    return lstar(float(lin @ np.array([0.2973769, 0.6273491, 0.0752741])))


def srgb_lstar(rgb) -> float:
    """L* of an sRGB 8-bit colour."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lstar(float(lin @ np.array([0.2126, 0.7152, 0.0722])))


class InputSpy:
    """Wraps Colorizer.predict_ab: records each generator input's (h, w)."""

    def __init__(self, monkeypatch) -> None:
        from colorgan.colorize.colorizer import Colorizer

        self.sizes: list[tuple[int, int]] = []
        real = Colorizer.predict_ab

        def spy(colorizer, real_A, prev_ab=None, **hints):
            self.sizes.append(tuple(real_A.shape[-2:]))
            return real(colorizer, real_A, prev_ab, **hints)

        monkeypatch.setattr(Colorizer, "predict_ab", spy)
