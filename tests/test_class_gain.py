"""model.chroma_per_class: one vibrance gain per class the guidance head predicts, calibrated on
the validation photos at the least PSNR cost, saved with the checkpoint, used by eval and
colorize, overridden by one gain on request."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.color import ColorSpace, scale_ab
from colorgan.metrics import colorfulness
from colorgan.models.class_gain import (
    ClassGainCurve,
    check_class_gains,
    class_gains,
    greedy_path,
)


def _curves(slopes: list[float], n: list[int], gains=(1.0, 2.0, 3.0, 4.0)):
    """Sums over n[k] images: colour grows 10 per unit of gain, PSNR falls by slope[k] per unit."""
    g = torch.tensor(gains, dtype=torch.float64)
    colour = torch.stack([10.0 * g * c for c in n])  # (K, G)
    psnr = torch.stack([(30.0 - s * (g - 1.0)) * c for s, c in zip(slopes, n)])
    return gains, psnr, colour, torch.tensor(n, dtype=torch.float64)


def test_the_cheap_class_is_stretched_first_and_the_goal_is_met_exactly():
    gains, psnr, colour, count = _curves([0.5, 2.0], [10, 10])  # class 0 loses PSNR slowly
    out, reached = class_gains(gains, psnr, colour, count, goal=30.0, fallback=1.5)
    # mean colour = 5 (g0 + g1): the goal 30 needs g0 + g1 = 6; class 0 goes to the grid's end
    # (4) before class 1 moves, then class 1 takes the rest
    assert reached and out == [4.0, 2.0]
    out, _ = class_gains(gains, psnr, colour, count, goal=27.5, fallback=1.5)
    assert out == [4.0, pytest.approx(1.5)]  # the last step interpolated to the goal


def test_a_step_that_raises_psnr_comes_first_and_an_empty_class_gets_the_fallback():
    gains = (1.0, 2.0, 3.0)
    colour = torch.tensor([[10.0, 20.0, 30.0], [10.0, 20.0, 30.0], [0.0, 0.0, 0.0]])
    psnr = torch.tensor([[20.0, 19.0, 18.0], [20.0, 25.0, 19.0], [0.0, 0.0, 0.0]])  # class 1 gains
    count = torch.tensor([1.0, 1.0, 0.0])
    path = list(greedy_path(psnr, colour, count))
    assert path[0][1] == 1  # the step that adds PSNR is taken first
    out, reached = class_gains(gains, psnr, colour, count, goal=15.0, fallback=2.7)
    assert reached and out == [1.0, 2.0, 2.7]


def test_an_unreachable_goal_keeps_the_largest_gains_and_says_so():
    gains, psnr, colour, count = _curves([1.0, 1.0], [5, 5])
    out, reached = class_gains(gains, psnr, colour, count, goal=100.0, fallback=1.0)
    assert not reached and out == [4.0, 4.0]


def test_the_curve_sums_per_image_psnr_and_colour_by_class():
    torch.manual_seed(0)
    rgb = torch.rand(6, 3, 16, 16) * 0.6 + 0.2
    cs = ColorSpace("lab")
    real_A, real_B = cs.encode(rgb)
    raw = real_B * 0.5  # a dull prediction
    classes = torch.tensor([0, 1, 1, 2, 0, 1])
    curve = ClassGainCurve(3, gains=(1.0, 2.0))
    curve.update(cs, real_A, raw, rgb, "image", classes)
    psnr, colour, count, truth = curve.compute()
    assert count.tolist() == [2, 3, 1]
    fake = cs.decode(real_A, scale_ab(raw, 2.0, "image"))
    mse = ((fake - rgb) ** 2).mean(dim=(1, 2, 3))
    want = -10 * torch.log10(mse)
    assert float(psnr[1, 1]) == pytest.approx(float(want[[1, 2, 5]].sum()), rel=1e-4)
    assert float(colour[0, 1]) == pytest.approx(float(colorfulness(fake)[[0, 4]].sum()), rel=1e-4)
    assert float(truth) == pytest.approx(float(colorfulness(rgb).mean()), rel=1e-5)


def test_one_gain_per_image_scales_each_image_as_its_own_number_would():
    ab = torch.rand(3, 2, 8, 8) * 0.4 - 0.2
    per = scale_ab(ab, torch.tensor([1.0, 2.0, 3.5]), "image")
    for i, g in enumerate([1.0, 2.0, 3.5]):
        assert torch.allclose(per[i:i + 1], scale_ab(ab[i:i + 1], g, "image").float(), atol=1e-6)


@pytest.mark.parametrize("bad,match", [([1.0, 2.0], "has 2 gains for a head of 3 classes"),
                                       ([1.0, -1.0, 2.0], "must be in")])
def test_bad_class_gains_name_the_option(bad, match):
    with pytest.raises(ValueError, match=match):
        check_class_gains(bad, 3)
    assert check_class_gains(None, 3) is None


# ------------------------------------------------------------------ end to end
@pytest.fixture
def class_folders(tmp_path):
    """Two classes whose colour a gray input cannot tell apart: warm and cool stripes."""
    rng = np.random.default_rng(0)
    for c, colour in (("warm", (200, 90, 40)), ("cool", (40, 110, 200))):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(10):
            arr = np.zeros((32, 32, 3))
            arr[:, : 8 + 2 * (i % 4)] = colour
            arr[:, 8 + 2 * (i % 4):] = (120, 120, 120)
            arr = np.clip(arr + rng.integers(-20, 20, (32, 32, 3)), 0, 255)
            Image.fromarray(arr.astype(np.uint8)).save(tmp_path / "data" / c / f"{i}.png")
    return tmp_path / "data"


def _data(root) -> list[str]:
    return ["data=folder", f"data.root={root}", "data.image_size=32", "data.batch_size=4",
            "data.class_labels=true", "data.val_fraction=0.4", "data.num_workers=0",
            "data.check_files=false"]


def _folder(root) -> list[str]:
    from conftest import TINY
    return [*[o for o in TINY if not o.startswith("data")], *_data(root),
            "model.class_guidance.enabled=true", "model.chroma_center=image"]


def test_fit_calibrates_class_gains_that_eval_and_colorize_use(tmp_path, class_folders,
                                                              monkeypatch):
    from conftest import make_cfg

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.eval import evaluate
    from colorgan.train import train

    calls = []
    update = ClassGainCurve.update
    monkeypatch.setattr(ClassGainCurve, "update",
                        lambda self, *a: calls.append(len(a[1])) or update(self, *a))
    _, objs = train(make_cfg(tmp_path / "a", [*_folder(class_folders), "trainer.max_epochs=2",
                                              "model.chroma_target=0.01",
                                                    "model.chroma_per_class=true"]))
    model = objs["model"]
    gains = model.hparams.chroma_class_gains
    assert len(gains) == 2 and all(0.5 <= g <= 8.0 for g in gains)
    assert not any(g == 8.0 for g in gains)  # reached: the grid's end is not needed
    n_val = len(objs["datamodule"].val_dataloader().dataset)
    assert sum(calls) == n_val  # the last epoch's validation alone calibrates (of 2)
    ckpt = tmp_path / "a" / "run" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert saved["chroma_class_gains"] == gains

    # the module applies each photo's class gain
    model.eval()
    x = torch.rand(4, 3, 32, 32)
    real_A, _ = model.cs.encode(x)
    with torch.no_grad():
        classes = model.guidance.classify(model.netG, real_A)
        want = model.cs.scale_chroma(real_A, model.predict_raw(real_A),
                                     torch.tensor(gains)[classes], "image")
        assert torch.allclose(model.predict(real_A), want, atol=1e-5)

    # colorize: the same gains from the checkpoint, the same colour
    c = Colorizer.from_checkpoint(ckpt, "cpu")
    assert c.class_gains == gains and c.guidance is not None
    ab = c.predict_ab(real_A)
    assert torch.allclose(ab, model.cs.chroma(real_A, want), atol=1e-4)
    c.set_chroma_gain(1.0)  # --chroma-gain: one gain for all
    assert c.class_gains is None
    assert torch.allclose(c.predict_ab(real_A), model.cs.chroma(real_A, model.predict_raw(real_A)),
                          atol=1e-4)

    # eval: the per-class gains by default, the one calibrated gain with chroma_per_class=false
    common = [f"ckpt_path={ckpt}", "split=val", "trainer.enable_progress_bar=false",
              *_data(class_folders)]
    _, on = evaluate(make_cfg(tmp_path / "e1", common, config_name="eval.yaml"))
    assert on["model"].hparams.chroma_class_gains == gains
    _, off = evaluate(make_cfg(tmp_path / "e2", [*common, "chroma_per_class=false"],
                               config_name="eval.yaml"))
    assert off["model"].hparams.chroma_class_gains is None
    assert off["model"].hparams.chroma_gain == pytest.approx(model.hparams.chroma_gain)


def test_per_class_needs_a_target_and_no_temporal_model():
    from colorgan.models.gan_module import ColorizationGAN

    G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
    from conftest import OPT
    with pytest.raises(ValueError, match=r"model.chroma_per_class=true needs model.chroma_target"):
        ColorizationGAN(netG=G, **OPT, adversarial=False, chroma_per_class=True)
    with pytest.raises(ValueError, match=r"does not work with model.temporal"):
        ColorizationGAN(netG=G, **OPT, adversarial=False, chroma_per_class=True,
                        chroma_target=0.9, temporal={"enabled": True})
    plain = ColorizationGAN(netG=G, **OPT, adversarial=False)
    with pytest.raises(ValueError, match=r"chroma_per_class=true: this checkpoint has no per-class"):
        plain.set_chroma_per_class(True)


def test_without_a_guidance_head_one_gain_is_calibrated_with_a_warning(tmp_path):
    from conftest import TINY, make_cfg

    from colorgan.train import train

    with pytest.warns(UserWarning, match="chroma_per_class=true needs the class-guidance head"):
        _, objs = train(make_cfg(tmp_path, [*TINY, "model.chroma_target=0.04",
                                            "model.chroma_per_class=true"]))
    model = objs["model"]
    assert model.hparams.get("chroma_class_gains") is None and model.hparams.chroma_gain > 1.0


def test_a_checkpoint_with_gains_but_no_head_is_refused_by_colorize(tmp_path, class_folders):
    from conftest import make_cfg

    from colorgan.colorize.colorizer import CheckpointError, Colorizer
    from colorgan.train import train

    train(make_cfg(tmp_path / "a", [*_folder(class_folders), "model.chroma_target=0.01",
                                    "model.chroma_per_class=true"]))
    ckpt = tmp_path / "a" / "run" / "checkpoints" / "last.ckpt"
    payload = torch.load(ckpt, map_location="cpu", weights_only=False)
    payload["state_dict"] = {k: v for k, v in payload["state_dict"].items()
                             if not k.startswith("guidance.")}
    broken = tmp_path / "broken.ckpt"
    torch.save(payload, broken)
    with pytest.raises(CheckpointError, match=r"broken.ckpt has per-class chroma gains but no"):
        Colorizer.from_checkpoint(broken, "cpu")


def test_films_get_the_one_calibrated_gain_not_a_per_frame_class_gain(tmp_path, class_folders,
                                                                         monkeypatch):
    from conftest import make_cfg
    from test_video_helpers import make_video, scene_frames

    from colorgan.colorize import films
    from colorgan.colorize.colorizer import Colorizer
    from colorgan.train import train

    train(make_cfg(tmp_path / "a", [*_folder(class_folders), "model.chroma_target=0.01",
                                    "model.chroma_per_class=true"]))
    c = Colorizer.from_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "last.ckpt", "cpu")
    assert c.class_gains is not None
    single = c.one_gain()
    assert single.class_gains is None and single.chroma_gain == c.chroma_gain
    assert c.class_gains is not None  # the photo colorizer keeps its per-class gains
    seen = []
    monkeypatch.setattr(films, "TemporalColorizer",
                        lambda colorizer, *a, **k: seen.append(colorizer) or (_ for _ in ()).throw(
                            RuntimeError("stop after setup")))
    src = make_video(tmp_path / "in.mp4", scene_frames(4, seed=0))
    with pytest.raises(RuntimeError, match="stop after setup"):
        films.colorize_video(src, tmp_path / "out.mp4", c, progress=False)
    assert seen[0].class_gains is None and seen[0].chroma_gain == c.chroma_gain
    assert not (tmp_path / "out.mp4").exists()


def test_the_head_classifies_the_bottleneck_it_was_trained_on():
    """Training feeds the head the bottleneck after the decoder's first (in-place) ReLU; at
    inference the head must see the same features, not the encoder's raw output."""
    from conftest import OPT

    from colorgan.models.gan_module import ColorizationGAN
    from colorgan.models.guidance import ClassGuidance

    G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
    model = ColorizationGAN(netG=G, **OPT, adversarial=False).eval()
    torch.manual_seed(0)
    head = ClassGuidance(model.netG, 3, hidden=16)
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        model.netG(x)  # the training-time pass: the hook keeps what the head trains on
        seen = head.head(head._features.float())
        raw = x
        for block in model.netG.down:
            raw = block(raw)
        encoder_only = head.head(raw.float())
    assert torch.allclose(head.logits(model.netG, x), seen)
    assert not torch.allclose(encoder_only, seen)  # the in-place ReLU changed the features
    other = ColorizationGAN(netG=G, **OPT, adversarial=False).eval()
    with pytest.raises(RuntimeError, match="not hooked to this generator"):
        head.logits(other.netG, x)
