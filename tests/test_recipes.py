"""Recipe switches: colour classification, NoGAN warm-up, EMA, class guidance, R1, spectral
norm, flip averaging and checkpoint selection, each on tiny data."""
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from conftest import OPT
from PIL import Image

from colorgan.color import normalize_ab
from colorgan.data.folder import FolderDataModule
from colorgan.data.synthetic import SyntheticDataModule
from colorgan.models.color_classes import (
    BinnedGenerator,
    ClassRebalance,
    ColorBins,
    cached_prior,
    empirical_prior,
    gamut_bins,
    soft_cross_entropy,
)
from colorgan.models.gan_module import ColorizationGAN, build_generator
from colorgan.selection import check_rule, selection_score

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
D = {"_target_": "colorgan.models.discriminators.NLayerDiscriminator", "ndf": 8, "n_layers": 2}
CLS = {"enabled": True, "temperature": 0.38, "rebalance": 0.5, "prior_images": 16,
       "cache_dir": None}


def _trainer(**kw):
    return pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, **kw)


def _synthetic():
    return SyntheticDataModule(image_size=32, batch_size=4, num_train=8, num_val=4)


# ------------------------------------------------------------ classification
def test_gamut_bins_cover_the_srgb_ab_range():
    bins = gamut_bins(10.0)
    assert 200 < len(bins) < 320  # 261 from sRGB; Zhang et al. list 313 from their own test
    assert bins[:, 0].min() == -90 and bins[:, 0].max() == 100  # a extent (Zhang et al.)
    assert bins[:, 1].min() == -110 and bins[:, 1].max() == 90  # b extent
    assert torch.all(bins % 10 == 0)
    # every sRGB colour (random ones, the primaries and secondaries) lies in a bin's cell:
    # its ab rounded to the grid is a bin, so no colour of a photo is out of the classes
    from kornia.color import rgb_to_lab
    g = torch.Generator().manual_seed(0)
    corners = torch.tensor([[r, gg, b] for r in (0, 1) for gg in (0, 1) for b in (0, 1)])
    rgb = torch.cat([torch.rand(20_000, 3, generator=g), corners.float()])  # (N, 3)
    ab = rgb_to_lab(rgb.T[None, :, :, None])[0, 1:, :, 0].T  # (N, 2)
    cells = {tuple(c) for c in (torch.round(ab / 10) * 10).to(torch.int64).tolist()}
    assert cells <= {tuple(c) for c in bins.to(torch.int64).tolist()}


def test_soft_encoding_sums_to_one_and_low_temperature_recovers_the_colour():
    bins = ColorBins()
    centre = bins.centres[17]  # a bin centre: a point the quantisation holds exactly
    ab = centre.view(1, 2, 1, 1).expand(2, 2, 4, 4).clone()
    target = bins.soft_encode(ab)
    assert torch.allclose(target.sum(1), torch.ones(2, 4, 4))
    assert torch.all(bins.nearest(ab) == 17)
    logits = torch.log(target + 1e-6)
    mode = bins.decode(logits, temperature=0.01)
    assert torch.allclose(mode, ab, atol=1e-3)
    # a bimodal prediction: the mean sits between the modes, a low T picks the stronger one
    two = torch.full((1, bins.num_bins, 1, 1), -20.0)
    two[0, 17], two[0, 200] = 0.2, 0.0
    mean, vivid = bins.decode(two, 1.0), bins.decode(two, 0.01)
    assert torch.allclose(vivid[0, :, 0, 0], bins.centres[17], atol=1e-3)
    assert (mean[0, :, 0, 0] - bins.centres[17]).norm() > 0.1
    with pytest.raises(ValueError, match="temperature"):
        bins.decode(two, 0.0)


def test_sparse_targets_give_the_dense_loss_and_the_nearest_bin():
    """The training loss gathers at the k nearest bins; it equals the dense soft target's."""
    bins = ColorBins()
    ab = (torch.rand(2, 2, 5, 6) - 0.5) * 0.8
    idx, w = bins.encode(ab)
    assert idx.shape == w.shape == (2, 5, 5, 6)
    assert torch.equal(idx[:, 0], bins.nearest(ab))  # nearest first: the rebalancing's bin
    logits = torch.randn(2, bins.num_bins, 5, 6)
    pix = torch.rand(2, 5, 6)
    assert torch.allclose(soft_cross_entropy(logits, (idx, w), pix),
                          soft_cross_entropy(logits, bins.soft_encode(ab), pix))


def test_classification_head_is_a_1x1_conv_and_old_checkpoints_keep_theirs():
    new = build_generator(G, "lab", None, {**CLS, "head_width": 16})
    assert new.head[1].kernel_size == (1, 1) and new.head[1].out_channels == new.bins.num_bins
    x = torch.randn(2, 1, 32, 32)
    assert new(x, return_logits=True).shape == (2, new.bins.num_bins, 32, 32)
    assert new(x).shape == (2, 2, 32, 32)
    old = build_generator(G, "lab", None, CLS)  # no head_width: the net outputs Q itself
    assert old.head is None and old(x, return_logits=True).shape[1] == old.bins.num_bins


def test_rebalancing_boosts_rare_colours():
    bins = ColorBins()
    gray = torch.full((4, 3, 8, 8), 0.5)  # almost every pixel in the neutral bin
    gray[0, :, 0, 0] = torch.tensor([1.0, 0.0, 0.0])  # one red pixel
    prior = empirical_prior([gray], bins)
    assert prior.sum().item() == pytest.approx(1.0)
    w = ClassRebalance(prior, bins.centres, lam=0.5).weights
    neutral = bins.nearest(torch.zeros(1, 2, 1, 1)).item()
    red = bins.nearest(normalize_ab(torch.tensor([80.0, 67.0])).view(1, 2, 1, 1)).item()
    assert w[red] > 1.5 * w[neutral]
    with pytest.raises(ValueError, match="rebalance"):
        ClassRebalance(prior, bins.centres, lam=1.5)


def test_prior_is_computed_once_and_cached(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return torch.tensor([0.25, 0.75])

    a = cached_prior(tmp_path, "key", compute)
    b = cached_prior(tmp_path, "key", compute)
    assert torch.equal(a, b) and len(calls) == 1
    cached_prior(tmp_path, "other", compute)
    assert len(calls) == 2


def test_classification_model_trains_with_and_without_gan_and_changes_with_temperature():
    for adversarial in (False, True):
        model = ColorizationGAN(netG=G, netD=D, **OPT, adversarial=adversarial, lambda_rec=0.0,
                                classification=CLS)
        assert isinstance(model.netG, BinnedGenerator)
        _trainer(max_epochs=1, limit_val_batches=1).fit(model, _synthetic())
        assert model.color_prior.sum().item() == pytest.approx(1.0, abs=1e-4)
        assert model.rebalance is not None
        assert torch.isfinite(model.trainer.callback_metrics["val/psnr"])
    x = torch.randn(1, 1, 32, 32)
    model.netG.eval()
    model.netG.temperature = 1.0
    dull = model.netG(x)
    model.netG.temperature = 0.1
    vivid = model.netG(x)
    assert dull.shape == vivid.shape == (1, 2, 32, 32)
    assert not torch.allclose(dull, vivid)


def test_classification_needs_lab():
    with pytest.raises(ValueError, match="color_space=lab"):
        build_generator(G, "rgb", None, {"enabled": True})


# ------------------------------------------------------------- NoGAN warm-up
class StepLog(ColorizationGAN):
    def _step(self, opt, loss):
        self.who.append("G" if opt.optimizer is self.optimizers()[0].optimizer else "D")
        super()._step(opt, loss)


def test_pretrain_epochs_skip_the_discriminator_then_switch_it_on():
    model = StepLog(netG=G, netD=D, **OPT, pretrain_epochs=1)
    model.who = []
    dm = _synthetic()  # 2 batches per epoch
    _trainer(max_epochs=2, limit_val_batches=0).fit(model, dm)
    assert model.who == ["G", "G", "D", "G", "D", "G"]


def test_pretrain_epochs_resume_in_the_phase_the_run_stopped_in(tmp_path):
    """A run stopped during the warm-up resumes in it, and switches netD on at the same epoch
    as an uninterrupted run (the phase follows the restored epoch, not a counter of its own)."""
    first = StepLog(netG=G, netD=D, **OPT, pretrain_epochs=2)
    first.who = []
    trainer = _trainer(max_epochs=1, limit_val_batches=0)
    trainer.fit(first, _synthetic())  # stopped after epoch 0 of a 2-epoch warm-up
    assert first.who == ["G", "G"]
    ckpt = tmp_path / "warmup.ckpt"
    trainer.save_checkpoint(ckpt)
    resumed = StepLog(netG=G, netD=D, **OPT, pretrain_epochs=2)
    resumed.who = []
    _trainer(max_epochs=3, limit_val_batches=0).fit(resumed, _synthetic(), ckpt_path=str(ckpt))
    assert resumed.who == ["G", "G", "D", "G", "D", "G"]  # epoch 1: still warm-up; 2: GAN


def test_pretrain_epochs_must_not_be_negative():
    with pytest.raises(ValueError, match="pretrain_epochs"):
        ColorizationGAN(netG=G, netD=D, **OPT, pretrain_epochs=-1)


# ---------------------------------------------------------------------- EMA
def test_ema_weights_trail_the_raw_weights_and_are_used_for_evaluation():
    model = ColorizationGAN(netG=G, netD=D, **OPT, ema={"enabled": True, "decay": 0.5})
    _trainer(max_steps=4, limit_val_batches=0).fit(model, _synthetic())
    raw = torch.cat([p.flatten() for p in model.netG.parameters()])
    ema = torch.cat([p.flatten() for p in model.netG_ema.module.parameters()])
    assert not torch.equal(raw, ema)
    assert model.eval_generator() is model.netG_ema.module is model.predictor.netG
    assert any(k.startswith("netG_ema.module.") for k in model.state_dict())
    assert not any(p.requires_grad for p in model.netG_ema.parameters())
    with pytest.raises(ValueError, match="ema.decay"):
        ColorizationGAN(netG=G, netD=D, **OPT, ema={"enabled": True, "decay": 1.0})


def test_ema_warms_up_so_a_short_run_is_not_its_initial_weights():
    from torch.optim.swa_utils import AveragedModel

    from colorgan.models.ema import ema_with_warmup

    avg = ema_with_warmup(0.999)
    assert avg(torch.tensor(0.0), torch.tensor(1.0), torch.tensor(1)) == pytest.approx(1 - 2 / 11)
    assert avg(torch.tensor(0.0), torch.tensor(1.0), torch.tensor(10 ** 6)) == pytest.approx(0.001, rel=1e-4)
    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(net.weight)
    ema = AveragedModel(net, avg_fn=avg)
    ema.update_parameters(net)  # the first update copies (the initial weights, 0)
    with torch.no_grad():
        net.weight.fill_(1.0)  # training moved the weights to 1
    for _ in range(50):
        ema.update_parameters(net)
    assert ema.module.weight.item() > 0.8  # a fixed 0.999 would still be at 0.05


# ---------------------------------------------------------- class guidance
@pytest.fixture
def class_folders(tmp_path):
    rng = np.random.default_rng(0)
    for c, colour in (("red", (200, 40, 40)), ("blue", (40, 40, 200))):
        (tmp_path / c).mkdir()
        for i in range(6):
            arr = np.clip(np.array(colour) + rng.integers(-30, 30, (32, 32, 3)), 0, 255)
            Image.fromarray(arr.astype(np.uint8)).save(tmp_path / c / f"{i}.png")
    return tmp_path


@pytest.mark.parametrize("adversarial", [True, False])  # False: one optimizer, no netD
def test_class_guidance_trains_a_head_on_folder_labels(class_folders, adversarial):
    dm = FolderDataModule(root=str(class_folders), class_labels=True, image_size=32,
                          batch_size=4, num_workers=0, val_fraction=0.3, check_files=False)
    model = ColorizationGAN(netG=G, netD=D, **OPT, adversarial=adversarial,
                            class_guidance={"enabled": True, "weight": 1.0})
    _trainer(max_epochs=1, limit_val_batches=1).fit(model, dm)
    assert model.guidance is not None
    assert model.hparams.class_guidance["num_classes"] == 2
    assert "train/loss_G_class" in model.trainer.callback_metrics
    # rebuilt from its hyper-parameters (as a checkpoint does), the head exists at once
    again = ColorizationGAN(**model.hparams)
    again.load_state_dict(model.state_dict())


def test_class_guidance_is_off_with_a_warning_without_labels():
    model = ColorizationGAN(netG=G, netD=D, **OPT, class_guidance={"enabled": True})
    with pytest.warns(UserWarning, match="no class labels"):
        _trainer(max_steps=2, limit_val_batches=0).fit(model, _synthetic())
    assert model.guidance is None


# ------------------------------------------------------------- stabilisers
def test_r1_penalty_and_spectral_norm_train():
    model = ColorizationGAN(netG=G, netD=D, **OPT, r1_gamma=1.0, spectral_norm=True, gan_mode="hinge")
    assert any(hasattr(m, "parametrizations") for m in model.netD.modules())
    _trainer(max_steps=2, limit_val_batches=0).fit(model, _synthetic())
    r1 = model.trainer.callback_metrics["train/loss_D_R1_step"]
    assert torch.isfinite(r1) and r1 >= 0
    with pytest.raises(ValueError, match="r1_gamma"):
        ColorizationGAN(netG=G, netD=D, **OPT, r1_gamma=-1.0)


def test_r1_penalty_and_spectral_norm_match_their_definitions():
    from colorgan.models.regularizers import apply_spectral_norm, r1_penalty

    x = torch.randn(3, 4, 5, 5, requires_grad=True)
    w = torch.randn(4, 5, 5)
    # a linear critic D(x) = <w, x>: the gradient is w for every image, R1 = 0.5 ||w||^2
    assert r1_penalty((x * w).flatten(1).sum(1), x).item() == pytest.approx(
        0.5 * w.pow(2).sum().item(), rel=1e-5)
    # D(x) = ||x||^2: the gradient is 2x, R1 = mean over the batch of 2 ||x_i||^2
    assert r1_penalty(x.pow(2).flatten(1).sum(1), x).item() == pytest.approx(
        (2 * x.detach().pow(2).flatten(1).sum(1)).mean().item(), rel=1e-5)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    net(torch.randn(1, 3, 6, 6))
    with torch.no_grad():
        net[0].weight.mul_(10.0)
    apply_spectral_norm(net)
    for _ in range(30):  # power iterations run on training forward passes
        net(torch.randn(2, 3, 6, 6))
    sigma = torch.linalg.matrix_norm(net[0].weight.flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=0.02)  # the conv's weight, spectrally normed


def test_hinge_losses_match_their_definitions():
    from colorgan.models.losses import GANLoss

    crit = GANLoss("hinge")
    pred = torch.tensor([-2.0, -0.5, 0.5, 2.0]).view(4, 1, 1, 1)
    assert crit(pred, True, True).item() == pytest.approx((3.0 + 1.5 + 0.5 + 0.0) / 4)
    assert crit(pred, False, True).item() == pytest.approx((0.0 + 0.5 + 1.5 + 3.0) / 4)
    assert crit(pred, True, False).item() == pytest.approx(0.0)  # G: -mean(D(fake))


def test_flip_averaging_is_equivariant_to_a_flip():
    model = ColorizationGAN(netG=G, netD=D, **OPT, tta_flip=True).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        a, b = model.predictor.output(x), model.predictor.output(x.flip(-1)).flip(-1)
    assert torch.allclose(a, b, atol=1e-5)


# --------------------------------------------------------------- selection
def test_selection_rules():
    m = {"val/psnr": torch.tensor(25.0), "val/ciede2000": torch.tensor(8.0),
         "val/colorfulness": torch.tensor(10.0), "val/colorfulness_gt": torch.tensor(30.0)}
    assert selection_score(m, check_rule({"rule": "psnr"})) == 25.0
    assert selection_score(m, check_rule({"rule": "ciede2000"})) == -8.0
    dull = selection_score(m, check_rule({"rule": "psnr_vivid", "min_colorfulness": 0.8}))
    m["val/colorfulness"] = torch.tensor(28.0)
    vivid = selection_score(m, check_rule({"rule": "psnr_vivid", "min_colorfulness": 0.8}))
    assert vivid == 25.0 and dull < 0
    with pytest.raises(ValueError, match="selection.rule"):
        check_rule({"rule": "best"})


def test_selection_rule_sets_the_score_a_trained_model_logs():
    """Through training: val/select is what the checkpoint callback monitors."""
    scores = {}
    for rule, frac in (("psnr", 0.8), ("ciede2000", 0.8), ("psnr_vivid", 0.0),
                       ("psnr_vivid", 2.0)):
        model = ColorizationGAN(netG=G, netD=D, **OPT,
                                selection={"rule": rule, "min_colorfulness": frac})
        _trainer(max_epochs=1, limit_val_batches=1).fit(model, _synthetic())
        m = model.trainer.callback_metrics
        scores[rule, frac] = (float(m["val/select"]), float(m["val/psnr"]),
                              float(m["val/ciede2000"]))
    select, psnr, _ = scores["psnr", 0.8]
    assert select == pytest.approx(psnr)
    select, _, ciede = scores["ciede2000", 0.8]
    assert select == pytest.approx(-ciede)
    select, psnr, _ = scores["psnr_vivid", 0.0]  # every epoch is vivid enough
    assert select == pytest.approx(psnr)
    select, psnr, _ = scores["psnr_vivid", 2.0]  # none is twice as colourful as the truth
    assert select == pytest.approx(psnr - 100.0)
