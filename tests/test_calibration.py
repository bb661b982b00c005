"""model.chroma_target: the chroma gain calibrated on the validation photos during fitting,
saved with the checkpoint, used by eval and colorize, kept on resume, never set by a test split."""
from __future__ import annotations

import json

import pytest
import torch

from colorgan.color import ColorSpace, lab_norm_to_rgb, rgb_to_lab_norm
from colorgan.metrics import colorfulness
from colorgan.models.calibration import GAINS, GainCurve, calibrated_gain, check_chroma_target


def test_calibrated_gain_interpolates_the_first_crossing_and_clips_at_the_grid_ends():
    gains = (1.0, 2.0, 3.0)
    curve = torch.tensor([10.0, 20.0, 30.0])
    assert calibrated_gain(gains, curve, truth=30.0, target=0.5) == pytest.approx(1.5)
    assert calibrated_gain(gains, curve, truth=30.0, target=0.2) == 1.0  # dull enough at 1.0
    assert calibrated_gain(gains, curve, truth=40.0, target=1.0) == 3.0  # out of reach: max
    flat = torch.tensor([10.0, 25.0, 25.0])  # clamping flattens the curve: the first crossing
    assert calibrated_gain(gains, flat, truth=25.0, target=1.0) == pytest.approx(2.0)


@pytest.mark.parametrize("mode", ["lab", "rgb"])
def test_gain_curve_finds_the_gain_that_undoes_a_halved_chroma(mode):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    rgb = torch.stack([0.3 + 0.4 * xx, 0.4 + 0.2 * yy, 0.6 - 0.3 * xx], 0)[None]  # (1, 3, H, W)
    rgb = rgb.repeat(4, 1, 1, 1) * torch.linspace(0.7, 1.0, 4).view(4, 1, 1, 1)
    cs = ColorSpace(mode)
    L, ab = rgb_to_lab_norm(rgb)
    half = ab * 0.5  # a model that predicts half the true chroma, in its colour space's output
    real_A, raw_B = cs.encode(rgb)[0], half if mode == "lab" else lab_norm_to_rgb(L, half) * 2 - 1
    curve = GainCurve()
    curve.update(cs, real_A, raw_B, rgb, "zero")
    fake, truth = curve.compute()
    assert float(truth) == pytest.approx(float(colorfulness(rgb).mean()), rel=1e-5)
    assert all(b >= a - 1e-6 for a, b in zip(fake.tolist(), fake.tolist()[1:]))  # increasing
    gain = calibrated_gain(curve.gains, fake, float(truth), 1.0)
    assert gain == pytest.approx(2.0, abs=0.1)
    curve.reset()
    assert float(curve.count) == 0


@pytest.mark.parametrize("bad", [0, -0.5, 3, "vivid"])
def test_a_bad_chroma_target_names_the_option(bad):
    with pytest.raises(ValueError, match=rf"model.chroma_target={bad!r} must be a fraction"):
        check_chroma_target(bad)
    assert check_chroma_target(None) is None and check_chroma_target("0.9") == 0.9


def test_fit_calibrates_the_gain_saves_it_and_eval_does_not_move_it(tmp_path):
    from conftest import TINY, make_cfg

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.eval import evaluate
    from colorgan.train import train

    # a reachable target for a 2-epoch model (it is dull: colorfulness ~1.2 of the truth's ~92 at gain 1)
    metrics, objs = train(make_cfg(tmp_path / "a", [*TINY, "trainer.max_epochs=2",
                                                    "model.chroma_target=0.04"]))
    model = objs["model"]
    gain = model.predictor.chroma_gain
    assert 1.0 < gain < 4.0 and metrics["val/chroma_gain"] == pytest.approx(gain)
    # the final validation used the gain calibrated on the same weights: the target colour
    ratio = metrics["val/colorfulness"] / metrics["val/colorfulness_gt"]
    assert ratio == pytest.approx(0.04, abs=0.004)
    # the final numbers (and the model returned) are of the checkpoint val chose
    ckpt = json.loads((tmp_path / "a" / "run" / "metrics.json").read_text())["evaluated_checkpoint"]
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert saved["chroma_gain"] == pytest.approx(gain) and saved["chroma_target"] == 0.04
    assert Colorizer.from_checkpoint(ckpt, "cpu").chroma_gain == pytest.approx(gain)
    payload, eobjs = evaluate(make_cfg(tmp_path / "e", [
        f"ckpt_path={ckpt}", "split=test", "data.num_test=8",
        "trainer.enable_progress_bar=false"], config_name="eval.yaml"))
    assert eobjs["model"].predictor.chroma_gain == pytest.approx(gain)  # tests never calibrate
    assert "chroma_gain_calibrated" not in json.dumps(payload)
    # resuming keeps the calibrated gain, not the config's 1.0, until the next validation
    fresh = type(model)(**{**dict(model.hparams), "chroma_gain": 1.0})
    fresh.on_load_checkpoint({"hyper_parameters": saved})
    assert fresh.predictor.chroma_gain == pytest.approx(gain)
    assert fresh.hparams.chroma_gain == 1.0  # the config as given: the predictor owns the gain


def test_an_unreachable_target_keeps_the_largest_gain_and_says_so(tmp_path, caplog):
    from conftest import TINY, make_cfg

    from colorgan.train import train

    with caplog.at_level("WARNING", logger="colorgan"):
        metrics, objs = train(make_cfg(tmp_path, [*TINY, "model.chroma_target=1.0"]))
    assert objs["model"].predictor.chroma_gain == 4.0 and metrics["val/chroma_gain"] == 4.0
    warned = [r.getMessage() for r in caplog.records if "out of reach" in r.getMessage()]
    assert len(warned) == 1 and "model.chroma_target=1.0" in warned[0]
    assert "lower model.chroma_target" in warned[0]


def test_only_the_last_calibration_decides_the_out_of_reach_warning(tmp_path, caplog, monkeypatch):
    from conftest import TINY, make_cfg

    from colorgan.train import train

    n = len(GAINS)
    dull, vivid = torch.linspace(1.0, 10.0, n), torch.linspace(10.0, 60.0, n)
    passes = iter([(dull, torch.tensor(30.0)), (vivid, torch.tensor(30.0))])  # epoch 0, epoch 1
    monkeypatch.setattr(GainCurve, "compute", lambda self: next(passes))
    with caplog.at_level("WARNING", logger="colorgan"):
        _, objs = train(make_cfg(tmp_path, [*TINY, "trainer.max_epochs=2",
                                            "model.chroma_target=0.9"]))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"  # objs["model"]: the chosen epoch's
    saved = torch.load(last, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert saved["chroma_gain"] < 4.0  # reached at the last validation
    assert not [r for r in caplog.records if "out of reach" in r.getMessage()]
    assert next(passes, None) is None  # both validations calibrated


def test_a_bad_chroma_target_in_the_training_config_fails_before_training(tmp_path):
    from conftest import TINY, make_cfg
    from hydra.errors import InstantiationException

    from colorgan.train import train

    with pytest.raises(InstantiationException, match=r"model.chroma_target=-1 must be a fraction"):
        train(make_cfg(tmp_path, [*TINY, "model.chroma_target=-1"]))
    assert not list((tmp_path / "run").glob("checkpoints/*"))


def _spy_on_gains(monkeypatch):
    """Calibrations return 1.5, 2.0, 2.5, ...; records the gain each fitting validation batch
    is scored with and the gain each checkpoint stores, in order."""
    from colorgan.models import calibration
    from colorgan.models.gan_module import ColorizationGAN
    from colorgan.predictor import Predictor

    gains = iter([1.5 + 0.5 * i for i in range(50)])
    events: list[tuple[str, float]] = []
    monkeypatch.setattr(calibration, "calibrated_gain", lambda *a: next(gains))
    rgb, save = Predictor.rgb, ColorizationGAN.on_save_checkpoint

    def spy_rgb(self, g_in, real_A=None):
        events.append(("scored", self.chroma_gain))
        return rgb(self, g_in, real_A)

    def spy_save(self, checkpoint):
        save(self, checkpoint)
        events.append(("saved", checkpoint["hyper_parameters"]["chroma_gain"]))

    monkeypatch.setattr(Predictor, "rgb", spy_rgb)
    monkeypatch.setattr(ColorizationGAN, "on_save_checkpoint", spy_save)
    return events


def test_each_checkpoint_stores_the_gain_its_validation_was_scored_with(tmp_path, monkeypatch):
    """val/select (and every val metric) is scored with the gain calibrated on the same
    weights just before; every checkpoint saved after it stores that gain."""
    from conftest import TINY, make_cfg

    from colorgan.train import train

    events = _spy_on_gains(monkeypatch)
    metrics, _ = train(make_cfg(tmp_path, [*TINY, "trainer.max_epochs=3",
                                           "model.chroma_target=0.5"]))
    saved = [i for i, (kind, _) in enumerate(events) if kind == "saved"]
    assert len(saved) >= 4  # best and last, at least once per epoch
    for i in saved:
        scored = [g for kind, g in events[:i] if kind == "scored"]
        assert events[i][1] == scored[-1]  # the gain of the validation just before
    # 1.0: the sanity check, which never calibrates; then one calibration per epoch
    assert sorted({g for kind, g in events if kind == "scored"}) == [1.0, 1.5, 2.0, 2.5]
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=False)
    assert last["hyper_parameters"]["chroma_gain"] == 2.5
    # after fit, the checkpoint val chose is measured again with the gain it stores
    chosen = [p for p in (tmp_path / "run" / "checkpoints").glob("epoch_*.ckpt")]
    stored = {torch.load(p, map_location="cpu", weights_only=False)["hyper_parameters"]
              ["chroma_gain"] for p in chosen}
    assert metrics["val/chroma_gain"] in stored


@pytest.mark.parametrize("stop", [
    ["++trainer.max_steps=6", "+trainer.val_check_interval=2"],  # inside the second epoch
    ["callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=0",
     "callbacks.early_stopping.min_delta=100"]])  # stops after the second validation
def test_a_run_stopped_before_max_epochs_keeps_the_last_validations_gain(tmp_path, monkeypatch,
                                                                         stop):
    """max_steps (inside an epoch, with validation every 2 batches) or early stopping: the
    last checkpoint has the gain calibrated on the last validation that ran, not a stale one."""
    from conftest import TINY, make_cfg

    from colorgan.train import train

    events = _spy_on_gains(monkeypatch)
    train(make_cfg(tmp_path, [*TINY, "model=unet_mse", "trainer.max_epochs=50", *stop,
                              "model.chroma_target=0.5"]))
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=False)
    scored = [g for kind, g in events if kind == "scored"]
    # the last validation of the fit had the largest gain (the spy's gains grow); the final
    # measurement of the chosen checkpoint afterwards scores with that checkpoint's own gain
    assert last["hyper_parameters"]["chroma_gain"] == max(scored) >= 2.0
    assert last["epoch"] < 49  # stopped long before max_epochs


def test_calibration_leaves_the_validation_loop_its_batches_with_persistent_workers(tmp_path,
                                                                                     monkeypatch):
    """With data workers (persistent), the calibration pass must not take the validation loop's
    own iterator: every validation of the fit scores all of its batches."""
    from conftest import TINY, make_cfg

    from colorgan.models.gan_module import ColorizationGAN
    from colorgan.train import train

    seen: list[tuple[bool, int]] = []
    step = ColorizationGAN.validation_step

    def counting(self, batch, batch_idx):
        seen.append((self.trainer.sanity_checking, batch_idx))
        return step(self, batch, batch_idx)

    monkeypatch.setattr(ColorizationGAN, "validation_step", counting)
    metrics, _ = train(make_cfg(tmp_path, [*TINY, "trainer.max_epochs=2", "data.num_workers=1",
                                           "model.chroma_target=0.04"]))
    fit_steps = [i for sanity, i in seen if not sanity]
    assert fit_steps.count(0) >= 2 and fit_steps.count(1) >= 2  # 8 val photos, batches of 4
    assert 1.0 < metrics["val/chroma_gain"] <= 4.0
