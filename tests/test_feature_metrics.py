"""eval's optional FID and LPIPS (metrics.fid / metrics.lpips), tested without internet: a tiny
feature net stands in for the Inception, and the download's failure is what skips a metric."""
from __future__ import annotations

import json
from urllib.error import URLError

import pytest
import torch
from conftest import TINY, make_cfg
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.regression import MeanAbsoluteError

from colorgan import feature_metrics
from colorgan.eval import evaluate
from colorgan.feature_metrics import FeatureMetrics
from colorgan.train import train


def mean_rgb() -> torch.nn.Module:
    """(B, 3, H, W) -> (B, 3): each image's mean colour, a 3-d stand-in for Inception's 2048."""
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())


def offline(*args, **kwargs):  # what the weights' download raises here (no network)
    raise URLError("[Errno -2] Name or service not known")


def test_fid_is_zero_for_the_same_images_and_grows_with_the_difference():
    torch.manual_seed(0)
    real = torch.rand(32, 3, 16, 16)
    scores = []
    for fake in (real.clone(), (real * 0.8).clamp(0, 1), real.mean(1, keepdim=True).expand_as(real)):
        m = FeatureMetrics(fid=True, fid_feature=mean_rgb())
        for i in range(0, 32, 8):  # batch by batch, as in a test loop
            m.update(fake[i:i + 8], real[i:i + 8])
        scores.append(float(m.compute()["fid"]))
    assert scores[0] == pytest.approx(0.0, abs=1e-4)
    assert 1e-4 < scores[1] and 1e-4 < scores[2], scores


def test_offline_fid_and_lpips_are_skipped_with_one_line_each(monkeypatch, caplog):
    monkeypatch.setattr(feature_metrics, "FrechetInceptionDistance", offline)
    monkeypatch.setattr(feature_metrics, "LearnedPerceptualImagePatchSimilarity", offline)
    m = FeatureMetrics(fid=True, lpips=True)
    assert set(m.skipped) == {"fid", "lpips"} and not m.metrics
    assert m.skipped["fid"].startswith("FID skipped: the Inception weights of torch-fidelity "
                                       "(weights-inception-2015-12-05-6726825d.pth) could not "
                                       "be loaded (<urlopen error")
    assert "offline?" in m.skipped["fid"] and "metrics.fid_weights=PATH" in m.skipped["fid"]
    assert m.skipped["lpips"].startswith("LPIPS skipped: torchvision's alex weights")
    assert all("\n" not in r for r in m.skipped.values())
    assert sorted(r.message for r in caplog.records if "skipped" in r.message) == sorted(
        m.skipped.values())
    m.update(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))  # nothing to update: no crash
    assert m.compute() == {}


def test_a_missing_fid_weights_file_is_named():
    missing = FeatureMetrics(fid=True, fid_weights="/nowhere/inception.pth").skipped["fid"]
    assert missing.startswith("FID skipped: metrics.fid_weights=/nowhere/inception.pth could "
                              "not be loaded (") and "No such file" in missing
    assert "offline" not in missing


def test_fid_without_torch_fidelity_says_what_to_install(monkeypatch):
    def missing(**kwargs):  # torchmetrics' own error when torch-fidelity is absent
        raise ModuleNotFoundError("FrechetInceptionDistance metric requires that `Torch-fidelity` "
                                  "is installed.")

    monkeypatch.setattr(feature_metrics, "FrechetInceptionDistance", missing)
    assert FeatureMetrics(fid=True).skipped["fid"] == (
        "FID skipped: torch-fidelity is not installed; pip install torch-fidelity "
        "(or colorgan[metrics]).")


def test_fid_on_one_image_or_on_images_its_net_cannot_take_is_skipped_not_a_crash():
    m = FeatureMetrics(fid=True, fid_feature=mean_rgb())
    m.update(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    assert m.compute() == {} and "More than one sample" in m.skipped["fid"]
    big_kernel = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 64), torch.nn.AdaptiveAvgPool2d(1),
                                     torch.nn.Flatten())  # fine at 299 px, fails at 16
    m = FeatureMetrics(fid=True, fid_feature=big_kernel)
    m.update(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16))  # no crash mid-evaluation
    assert m.compute() == {} and m.skipped["fid"].startswith("FID skipped: it failed on images "
                                                             "of (16, 16) px (")
    with pytest.raises(ValueError, match="metrics.lpips_net='resnet'"):
        FeatureMetrics(lpips=True, lpips_net="resnet")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fm")
    cfg = make_cfg(tmp, [*TINY, "data.num_train=8", "data.num_val=4", "callbacks.sample_grid=null",
                         "callbacks.model_checkpoint=null", "+trainer.num_sanity_val_steps=0",
                         "validate_after_fit=false"])
    train(cfg)
    return json.loads((tmp / "run" / "metrics.json").read_text())["last_checkpoint"]


def _eval(tmp_path, ckpt, *overrides):
    cfg = make_cfg(tmp_path, ["data.batch_size=4", "data.num_test=8", "num_samples=2",
                              "trainer.enable_progress_bar=false", f"ckpt_path={ckpt}",
                              *overrides], config_name="eval.yaml")
    payload, _ = evaluate(cfg)
    return payload, (tmp_path / "run" / "metrics.md").read_text()


def test_eval_reports_fid_and_lpips_next_to_the_colour_metrics(tmp_path, checkpoint, monkeypatch):
    monkeypatch.setattr(feature_metrics, "FrechetInceptionDistance",
                        lambda **kw: FrechetInceptionDistance(**{**kw, "feature": mean_rgb()}))
    monkeypatch.setattr(feature_metrics, "LearnedPerceptualImagePatchSimilarity",
                        lambda **kw: MeanAbsoluteError())  # any paired metric: the plumbing
    payload, table = _eval(tmp_path, checkpoint, "metrics.fid=true", "metrics.lpips=true")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["skipped"] == {} and saved["model"]["fid"] > 0 and saved["model"]["lpips"] > 0
    assert "fid" not in saved["gray_baseline"]
    assert "| FID | LPIPS |" in table.splitlines()[2] and "| ΔCF |" in table
    assert "FID on 8 images: below the 5,000" in table


def test_eval_offline_skips_fid_and_records_why(tmp_path, checkpoint, monkeypatch, capsys):
    monkeypatch.setattr(feature_metrics, "FrechetInceptionDistance", offline)
    payload, table = _eval(tmp_path, checkpoint, "metrics.fid=true")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "ok" and saved["model"]["psnr"] > 0 and "fid" not in saved["model"]
    assert saved["skipped"]["fid"].startswith("FID skipped: the Inception weights")
    assert "FID |" not in table and saved["skipped"]["fid"] in table
    assert saved["skipped"]["fid"] in capsys.readouterr().out
