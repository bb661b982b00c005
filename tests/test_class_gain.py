"""model.chroma_per_class: a vibrance gain per photo from the class the guidance head predicts
(posterior rule: from its class probabilities; argmax: one gain per predicted class), calibrated
on the validation photos at the least PSNR cost, saved with the checkpoint, used by eval and
colorize, overridden by one gain on request."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.color import ColorSpace, scale_ab
from colorgan.metrics import colorfulness
from colorgan.models.class_gain import (
    WIDE_GAINS,
    ClassGainCurve,
    check_class_gains,
    check_class_rule,
    check_class_table,
    class_gains,
    greedy_path,
    posterior_gains,
    posterior_table,
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


def _posterior_case():
    """Two classes over the gains 1..4: colour grows 10 per unit of gain for both; the PSNR
    falls as 0.5 (g - 1)^2 for class 0 and 2 (g - 1)^2 for class 1. Four images: sure of 0,
    sure of 1, unsure, and unsure leaning to 1."""
    gains = (1.0, 2.0, 3.0, 4.0)
    g = torch.tensor(gains, dtype=torch.float64)
    psnr = torch.stack([30.0 - s * (g - 1.0) ** 2 for s in (0.5, 2.0)])  # (K, G), one image each
    colour = torch.stack([10.0 * g, 10.0 * g])
    count = torch.tensor([1.0, 1.0], dtype=torch.float64)
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]], dtype=torch.float64)
    img_colour = 10.0 * g.expand(4, -1)  # (N, G)
    return gains, psnr, colour, count, probs, img_colour


def test_posterior_rule_gives_the_unsure_photo_a_gain_between_its_classes_and_meets_the_goal():
    gains, psnr, colour, count, probs, img_colour = _posterior_case()
    table, lam, reached = posterior_table(psnr, colour, count, probs, img_colour, goal=25.0)
    assert reached and table.shape == (2, 4)
    chosen = posterior_gains(table, probs, gains)
    # the cheap class is stretched most, the dear one least, the unsure ones by their odds
    assert float(chosen[0]) > float(chosen[2]) >= float(chosen[3]) >= float(chosen[1])
    assert float(10.0 * chosen.double().mean()) >= 25.0  # the mean colour reaches the goal
    # lambda is the least price on colour that does: a little less misses the goal
    exp = probs @ (psnr + (lam * 0.98) * colour)  # count is 1: sums are means
    assert float(10.0 * torch.tensor(gains)[exp.argmax(1)].mean()) < 25.0


def test_posterior_rule_with_a_goal_out_of_reach_says_so_and_a_low_goal_needs_no_price():
    gains, psnr, colour, count, probs, img_colour = _posterior_case()
    table, _, reached = posterior_table(psnr, colour, count, probs, img_colour, goal=100.0)
    assert not reached and posterior_gains(table, probs, gains).tolist() == [4.0] * 4
    table, lam, reached = posterior_table(psnr, colour, count, probs, img_colour, goal=5.0)
    assert reached and lam == 0.0  # the PSNR-best gains already have that much colour
    assert posterior_gains(table, probs, gains).tolist() == [1.0] * 4


def test_the_curve_keeps_each_images_probabilities_and_colours_and_skips_unlabelled_ones():
    torch.manual_seed(0)
    rgb = torch.rand(4, 3, 16, 16) * 0.6 + 0.2
    cs = ColorSpace("lab")
    real_A, real_B = cs.encode(rgb)
    probs = torch.softmax(torch.randn(4, 2), 1)
    curve = ClassGainCurve(2, gains=(1.0, 2.0))
    curve.update(cs, real_A, real_B * 0.5, rgb, "image", torch.tensor([0, -1, 1, 1]), probs)
    psnr, colour, count, truth = curve.compute()
    assert count.tolist() == [1, 2]  # the unlabelled image counts for the colour only
    assert float(truth) == pytest.approx(float(colorfulness(rgb).mean()), rel=1e-5)
    p, c = curve.per_image()
    assert torch.allclose(p, probs.double()) and c.shape == (4, 2)
    fake = cs.decode(real_A, scale_ab(real_B * 0.5, 2.0, "image"))
    assert torch.allclose(c[:, 1], colorfulness(fake).double(), rtol=1e-4)
    assert float(colour[1, 1]) == pytest.approx(float(c[2:, 1].sum()), rel=1e-6)


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


def test_a_bad_class_table_or_rule_names_the_option():
    good = [[0.0] * len(WIDE_GAINS)] * 3
    assert check_class_table(good, 3).shape == (3, len(WIDE_GAINS))
    assert check_class_table(None, 3) is None
    with pytest.raises(ValueError, match=r"model.chroma_class_table is \(2, 76\), expected \(3, 76\)"):
        check_class_table(good[:2], 3)
    with pytest.raises(ValueError, match="finite"):
        check_class_table([[float("nan")] * len(WIDE_GAINS)] * 3, 3)
    with pytest.raises(ValueError, match="model.chroma_class_table: not a table"):
        check_class_table([[0.0, "x"]], 3)
    with pytest.raises(ValueError, match=r"model.chroma_class_rule='mode': choose one of"):
        check_class_rule("mode")


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


def _photo_gains(model, real_A) -> torch.Tensor:
    """Each photo's gain (B,) as the checkpoint's rule gives it."""
    probs = model.guidance.logits(model.netG, real_A).softmax(1)  # (B, K)
    table = model.hparams.get("chroma_class_table")
    if table is not None:
        return posterior_gains(torch.tensor(table, dtype=torch.float64), probs)
    return torch.tensor(model.hparams.chroma_class_gains)[probs.argmax(1)]


@pytest.mark.parametrize("rule", ["posterior", "argmax"])
def test_fit_calibrates_class_gains_that_eval_and_colorize_use(tmp_path, class_folders,
                                                              monkeypatch, rule):
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
                                              "model.chroma_per_class=true",
                                              f"model.chroma_class_rule={rule}",
                                              # the last weights are the ones measured after
                                              # fit: only the last epoch calibrates per class
                                              "callbacks.model_checkpoint=null"]))
    model = objs["model"]
    key, other = (("chroma_class_table", "chroma_class_gains") if rule == "posterior"
                  else ("chroma_class_gains", "chroma_class_table"))
    stored = model.hparams[key]
    assert model.hparams.get(other) is None
    if rule == "posterior":  # one row per class, one column per gain
        assert len(stored) == 2 and all(len(row) == len(WIDE_GAINS) for row in stored)
    else:
        assert len(stored) == 2 and all(0.5 <= g <= 8.0 for g in stored)
        assert not any(g == 8.0 for g in stored)  # reached: the grid's end is not needed
    n_val = len(objs["datamodule"].val_dataloader().dataset)
    assert sum(calls) == n_val  # the last epoch's validation alone calibrates (of 2)
    ckpt = tmp_path / "a" / "run" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert saved[key] == stored

    # the module applies each photo's gain
    model.eval()
    x = torch.rand(4, 3, 32, 32)
    real_A, _ = model.cs.encode(x)
    with torch.no_grad():
        gains = _photo_gains(model, real_A)  # (B,)
        assert bool((gains >= 0.5).all() & (gains <= 8.0).all())
        want = model.cs.scale_chroma(real_A, model.predict_raw(real_A), gains, "image")
        assert torch.allclose(model.predict(real_A), want, atol=1e-5)

    # colorize: the same gains from the checkpoint, the same colour
    c = Colorizer.from_checkpoint(ckpt, "cpu")
    assert c.per_class and c.guidance is not None
    ab = c.predict_ab(real_A)
    assert torch.allclose(ab, model.cs.chroma(real_A, want), atol=1e-4)
    c.set_chroma_gain(1.0)  # --chroma-gain: one gain for all
    assert not c.per_class
    assert torch.allclose(c.predict_ab(real_A), model.cs.chroma(real_A, model.predict_raw(real_A)),
                          atol=1e-4)

    # eval: the per-class gains by default, the one calibrated gain with chroma_per_class=false
    common = [f"ckpt_path={ckpt}", "split=val", "trainer.enable_progress_bar=false",
              *_data(class_folders)]
    _, on = evaluate(make_cfg(tmp_path / "e1", common, config_name="eval.yaml"))
    assert on["model"].hparams[key] == stored
    _, off = evaluate(make_cfg(tmp_path / "e2", [*common, "chroma_per_class=false"],
                               config_name="eval.yaml"))
    assert off["model"].hparams.get(key) is None
    assert off["model"].hparams.chroma_gain == pytest.approx(model.hparams.chroma_gain)


def test_colourfulness_classes_calibrate_per_photo_gains_without_dataset_labels(tmp_path):
    """model.class_guidance.labels=colorfulness on synthetic photos (no labels): the posterior
    table is calibrated over the six colourfulness classes and colorize applies it."""
    from conftest import TINY, make_cfg

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.train import train

    _, objs = train(make_cfg(tmp_path, [*TINY, "data.num_workers=0", "trainer.max_epochs=2",
                                        "model.class_guidance.enabled=true",
                                        "model.class_guidance.labels=colorfulness",
                                        "model.chroma_center=image", "model.chroma_target=0.01",
                                        "model.chroma_per_class=true"]))
    model = objs["model"]
    table = model.hparams["chroma_class_table"]
    assert len(table) == 6 and all(len(row) == len(WIDE_GAINS) for row in table)
    c = Colorizer.from_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", "cpu")
    assert c.per_class and c.guidance is not None
    model.eval()
    real_A, _ = model.cs.encode(torch.rand(3, 3, 32, 32))
    with torch.no_grad():
        want = model.cs.scale_chroma(real_A, model.predict_raw(real_A),
                                     _photo_gains(model, real_A), "image")
        assert torch.allclose(model.predict(real_A), want, atol=1e-5)
        assert torch.allclose(c.predict_ab(real_A), model.cs.chroma(real_A, want), atol=1e-4)


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
    assert model.hparams.get("chroma_class_table") is None and model.hparams.chroma_gain > 1.0


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
    assert c.per_class
    single = c.one_gain()
    assert not single.per_class and single.chroma_gain == c.chroma_gain
    assert c.per_class  # the photo colorizer keeps its per-class gains
    seen = []
    monkeypatch.setattr(films, "TemporalColorizer",
                        lambda colorizer, *a, **k: seen.append(colorizer) or (_ for _ in ()).throw(
                            RuntimeError("stop after setup")))
    src = make_video(tmp_path / "in.mp4", scene_frames(4, seed=0))
    with pytest.raises(RuntimeError, match="stop after setup"):
        films.colorize_video(src, tmp_path / "out.mp4", c, progress=False)
    assert not seen[0].per_class and seen[0].chroma_gain == c.chroma_gain
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


def test_with_ema_weights_colorize_classifies_with_the_raw_generator_as_eval_does(
        tmp_path, class_folders):
    """The head trained on the raw netG's bottleneck: eval classifies with it, and so must
    colorize, which colours with the EMA weights."""
    from conftest import make_cfg

    from colorgan.colorize.colorizer import Colorizer
    from colorgan.train import train

    _, objs = train(make_cfg(tmp_path / "a", [*_folder(class_folders), "model.chroma_target=0.01",
                                              "model.chroma_per_class=true",
                                              "model.ema.enabled=true"]))
    model = objs["model"].eval()
    c = Colorizer.from_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "last.ckpt", "cpu")
    assert c.weights == "ema" and c.class_net is not c.netG
    raw = model.netG.state_dict()
    assert all(torch.equal(v, raw[k]) for k, v in c.class_net.state_dict().items())
    assert not all(torch.equal(v, raw[k]) for k, v in c.netG.state_dict().items())
    real_A, _ = model.cs.encode(torch.rand(4, 3, 32, 32))
    with torch.no_grad():
        want = model.cs.chroma(real_A, model.predict(real_A))  # eval's colour
        assert torch.allclose(c.predict_ab(real_A), want, atol=1e-4)


def test_posterior_rule_without_validation_labels_warns_and_keeps_one_gain():
    from conftest import OPT

    from colorgan.models.gan_module import ColorizationGAN

    G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
    model = ColorizationGAN(netG=G, **OPT, adversarial=False, chroma_target=0.5,
                            chroma_center="image", chroma_per_class=True,
                            class_guidance={"enabled": True, "num_classes": 2})
    rgb = torch.rand(3, 3, 32, 32) * 0.6 + 0.2
    real_A, real_B = model.cs.encode(rgb)
    model.class_gain_curve.update(model.cs, real_A, real_B * 0.5, rgb, "image",
                                  torch.full((3,), -1), torch.full((3, 2), 0.5))
    with pytest.warns(UserWarning, match="validation photos have no class labels"):
        assert model.calibrate_class_gains(1.5) == {}
    assert model.hparams.get("chroma_class_table") is None
