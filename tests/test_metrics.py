"""ColorMetrics: the gray baseline and the truth's colorfulness are computed once per image,
with the same numbers as computing them every time."""
from __future__ import annotations

import pytest
import torch

from colorgan import metrics as cm
from colorgan.color import ColorSpace


def _split(seed: int, n: int = 6) -> list[dict[str, torch.Tensor]]:
    """Two batches of (fake, gray, real) RGB, as the LightningModule hands them over."""
    g = torch.Generator().manual_seed(seed)
    real = torch.rand(n, 3, 24, 24, generator=g)
    gray = ColorSpace("lab").gray_rgb(ColorSpace("lab").encode(real)[0])
    fake = (real + 0.1 * torch.randn(n, 3, 24, 24, generator=g)).clamp(0, 1)
    return [{"fake": fake[i:i + 3], "gray": gray[i:i + 3], "real": real[i:i + 3]}
            for i in range(0, n, 3)]


def _epoch(metrics: cm.ColorMetrics, split) -> dict[str, float]:
    for b in split:
        metrics.update(b["fake"], b["gray"], b["real"])
    out = {k: float(v) for k, v in metrics.compute().items()}
    metrics.reset()
    return out


def test_baseline_numbers_are_those_of_the_image_metrics():
    split = _split(0)
    reference = {"model": cm.image_metrics(), "gray": cm.image_metrics()}
    gt = cm.Colorfulness()
    for b in split:
        for name, metric in reference["model"].items():
            metric.update(b["fake"]) if name == "colorfulness" else metric.update(b["fake"], b["real"])
        for name, metric in reference["gray"].items():
            metric.update(b["gray"]) if name == "colorfulness" else metric.update(b["gray"], b["real"])
        gt.update(b["real"])
    expected = {f"val/{k}": float(v) for k, v in reference["model"].compute().items()}
    expected.update({f"val/gray_{k}": float(v) for k, v in reference["gray"].compute().items()})
    expected["val/colorfulness_gt"] = float(gt.compute())
    for name in ("", "gray_"):  # Delta CF: |mean CF - mean CF of the photos|
        expected[f"val/{name}delta_colorfulness"] = abs(expected[f"val/{name}colorfulness"]
                                                        - expected["val/colorfulness_gt"])
    got = _epoch(cm.ColorMetrics("val/"), split)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6), key


def test_baseline_is_computed_once_per_split(monkeypatch):
    calls = []
    original = cm.rgb_ciede2000
    monkeypatch.setattr(cm, "rgb_ciede2000", lambda p, t: calls.append(len(p)) or original(p, t))
    metrics, val, other = cm.ColorMetrics("val/"), _split(0), _split(1)
    first = _epoch(metrics, val)
    assert sum(calls) == 6 + 6  # the model's 6 images and the gray baseline's 6
    calls.clear()
    second = _epoch(metrics, val)
    assert sum(calls) == 6  # the model only: the baseline of these images is known
    assert {k: v for k, v in second.items() if "gray" in k or "_gt" in k} == \
        {k: v for k, v in first.items() if "gray" in k or "_gt" in k}
    calls.clear()
    third = _epoch(metrics, other)  # other images: their own baseline, not the cached one
    assert sum(calls) == 6 + 6
    assert third["val/gray_psnr"] != first["val/gray_psnr"]
