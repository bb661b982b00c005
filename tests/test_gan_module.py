"""The manual two-optimizer step: what is updated when."""
import pytest
import pytorch_lightning as pl
import torch
from conftest import OPT
from hydra.utils import instantiate

from colorgan.data.synthetic import SyntheticDataModule
from colorgan.models.gan_module import ColorizationGAN
from colorgan.models.losses import GANLoss

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
D = {"_target_": "colorgan.models.discriminators.NLayerDiscriminator", "ndf": 8, "n_layers": 2}


def _flat(net):
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


class Recorder(ColorizationGAN):
    """Records, for every optimizer step, which net changed."""

    def _step(self, opt, loss):
        before = {"G": _flat(self.netG), "D": _flat(self.netD) if self.netD is not None else None}
        super()._step(opt, loss)
        who = "G" if opt.optimizer is self.optimizers_[0] else "D"
        changed = {k: v is not None and not torch.equal(v, _flat(getattr(self, f"net{k}")))
                   for k, v in before.items()}
        self.log_steps.append((who, changed))

    def on_train_start(self):
        opts = self.optimizers()
        self.optimizers_ = [o.optimizer for o in (opts if isinstance(opts, list) else [opts])]
        self.log_steps = []


def _fit(model, steps=1, **kw):
    dm = SyntheticDataModule(image_size=32, batch_size=4, num_train=8, num_val=4)
    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, **kw)
    trainer.fit(model, dm)
    return trainer


def test_one_step_updates_both_and_never_the_other():
    model = Recorder(netG=G, netD=D, d_steps_per_g_step=2, **OPT)
    g0, d0 = _flat(model.netG), _flat(model.netD)
    trainer = _fit(model, steps=3)  # global_step counts both optimizers: D, D, G
    assert trainer.global_step == 3
    assert [w for w, _ in model.log_steps] == ["D", "D", "G"]
    for who, changed in model.log_steps:
        other = "G" if who == "D" else "D"
        assert changed[who], f"{who} step did not change net{who}"
        assert not changed[other], f"net{other} changed during the {who} step"
    assert not torch.equal(g0, _flat(model.netG)) and not torch.equal(d0, _flat(model.netD))


def test_regression_baseline_builds_no_discriminator():
    model = Recorder(netG=G, netD=D, adversarial=False, rec_loss="mse", lambda_rec=1.0, **OPT)
    assert model.netD is None
    assert len(model.configure_optimizers()) == 1
    _fit(model, steps=2)
    assert [w for w, _ in model.log_steps] == ["G", "G"]


def test_bad_model_options_name_the_option():
    with pytest.raises(ValueError, match="model.gan_mode='wgan'"):
        ColorizationGAN(netG=G, netD=D, gan_mode="wgan")
    with pytest.raises(ValueError, match="model.rec_loss='l2'"):
        ColorizationGAN(netG=G, netD=D, rec_loss="l2")
    with pytest.raises(ValueError, match=r"model.rec_space='lab'.*\['output', 'rgb'\]"):
        ColorizationGAN(netG=G, netD=D, rec_space="lab")
    with pytest.raises(ValueError, match="model.d_steps_per_g_step=0"):
        ColorizationGAN(netG=G, netD=D, d_steps_per_g_step=0)
    with pytest.raises(ValueError, match="model/netD"):
        ColorizationGAN(netG=G, netD=None, adversarial=True)


def test_rgb_reconstruction_compares_the_decoded_colours_and_trains():
    """model.rec_space=rgb: loss_G_rec is the L1 between the RGB decoded with the input's
    lightness, so the same ab error costs less in a dark pixel than in a bright one."""
    from colorgan.color import lab_norm_to_rgb

    model = ColorizationGAN(netG=G, netD=None, adversarial=False, rec_space="rgb", lambda_rec=1.0,
                            **OPT)
    real_A = torch.tensor([-0.8, 0.6]).view(2, 1, 1, 1).expand(2, 1, 4, 4)  # dark, bright
    real_B = torch.zeros(2, 2, 4, 4)
    fake_B = torch.full((2, 2, 4, 4), 0.1, requires_grad=True)
    loss = model.reconstruction(real_A, real_B, fake_B)
    want = (lab_norm_to_rgb(real_A, fake_B) - lab_norm_to_rgb(real_A, real_B)).abs().mean()
    assert float(loss) == pytest.approx(float(want))
    loss.backward()
    dark, bright = fake_B.grad[0].abs().sum(), fake_B.grad[1].abs().sum()
    assert 0 < dark < bright  # the ab loss (rec_space=output) weighs them alike
    same = ColorizationGAN(netG=G, netD=None, adversarial=False, lambda_rec=1.0, **OPT)
    assert float(same.reconstruction(real_A, real_B, fake_B)) == pytest.approx(0.1)
    _fit(model, steps=2)  # a regression step on the decoded RGB runs end to end


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge"])
def test_gan_losses_order_real_above_fake(mode):
    crit = GANLoss(mode, label_smoothing=0.1)
    confident_real = torch.full((2, 1, 4, 4), 5.0)
    confident_fake = torch.full((2, 1, 4, 4), -5.0)
    if mode == "lsgan":
        confident_real, confident_fake = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    # D is rewarded for calling real real, and G for fooling D
    assert crit(confident_real, True, True) < crit(confident_fake, True, True)
    assert crit(confident_fake, False, True) < crit(confident_real, False, True)
    assert crit(confident_real, True, False) < crit(confident_fake, True, False)


def test_label_smoothing_is_one_sided():
    crit = GANLoss("vanilla", label_smoothing=0.1)
    logits = torch.zeros(1, 1, 2, 2)
    ref = GANLoss("vanilla")
    assert crit(logits, True, True) == ref(logits, True, True)  # symmetric at p=0.5
    high = torch.full((1, 1, 2, 2), 4.0)
    assert crit(high, True, True) > ref(high, True, True)  # target 0.9: over-confidence costs
    assert crit(high, True, False) == ref(high, True, False)  # G's target is never smoothed
    assert crit(-high, False, True) == ref(-high, False, True)  # fake targets stay 0


def test_temporal_generator_gets_previous_chroma_and_zero_at_shot_start():
    model = ColorizationGAN(netG=G, netD=D, temporal={"enabled": True, "prev_source": "gt"})
    assert model.netG.down[0].in_channels == 3  # L + previous ab
    rgb, prev = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    batch = {"rgb": rgb, "prev_rgb": prev, "has_prev": torch.tensor([True, False])}
    _, _, g_in = model.prepare_batch(batch)
    assert g_in.shape == (2, 3, 32, 32)
    assert g_in[0, 1:].abs().sum() > 0 and g_in[1, 1:].abs().sum() == 0
    with pytest.raises(ValueError, match="prev_source='future'"):
        ColorizationGAN(netG=G, netD=D, temporal={"enabled": True, "prev_source": "future"})


def test_generator_rebuilds_from_checkpoint_hparams_alone():
    model = ColorizationGAN(netG=G, netD=D, color_space="rgb")
    h = dict(model.hparams)
    net = instantiate(h["netG"], in_channels=1, out_channels=3)
    net.load_state_dict({k[5:]: v for k, v in model.state_dict().items() if k.startswith("netG.")})
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    model.eval(), net.eval()
    assert torch.equal(net(x), model.netG(x))


def test_lr_schedulers_are_stepped_by_hand_each_epoch():
    sched = {"_target_": "torch.optim.lr_scheduler.LambdaLR", "_partial_": True,
             "lr_lambda": {"_target_": "colorgan.models.gan_module.linear_decay",
                           "n_epochs": 1, "n_epochs_decay": 3}}
    model = ColorizationGAN(netG=G, netD=D, scheduler_G=sched, scheduler_D=sched, **OPT)
    dm = SyntheticDataModule(image_size=32, batch_size=4, num_train=8, num_val=4)
    trainer = pl.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0)
    trainer.fit(model, dm)
    # pix2pix 'linear': factor 1, 0.75, 0.5 for epochs 0-2; stepped 3 times -> 0.25 for epoch 3
    for opt in trainer.optimizers:
        assert opt.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.25)


def test_missing_optimizer_config_is_named():
    model = ColorizationGAN(netG=G, netD=D, optimizer_G=OPT["optimizer_G"])
    with pytest.raises(ValueError, match="model.optimizer_D is not set: give a _partial_"):
        model.configure_optimizers()
    opt_G, opt_D = ColorizationGAN(netG=G, netD=D, **OPT).configure_optimizers()
    assert opt_G.defaults["lr"] == 2e-4 and opt_D.defaults["betas"] == (0.5, 0.999)


def test_reduce_lr_on_plateau_steps_with_the_monitored_metric():
    plateau = {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "_partial_": True,
               "mode": "max", "patience": 0, "factor": 0.5, "threshold": 0.0}
    model = ColorizationGAN(netG=G, netD=D, scheduler_G=plateau, scheduler_D=plateau, **OPT)
    dm = SyntheticDataModule(image_size=32, batch_size=4, num_train=8, num_val=4)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0)
    trainer.fit(model, dm)
    psnr = float(trainer.callback_metrics["val/psnr"])
    for s in model.lr_schedulers():
        assert s.last_epoch == 2 and s.best >= psnr  # mode=max: the best val PSNR seen
    model.hparams.scheduler_monitor = "val/psnrr"
    with pytest.warns(UserWarning, match="model.scheduler_monitor='val/psnrr' was not logged"):
        model.on_train_epoch_end()


def test_self_previous_frame_pass_keeps_batchnorm_statistics_clean():
    model = ColorizationGAN(netG=G, netD=D, temporal={"enabled": True, "prev_source": "self"})
    model.train()
    stats = {k: v.clone() for k, v in model.netG.state_dict().items() if "running" in k
             or "num_batches" in k}
    batch = {"rgb": torch.rand(2, 3, 32, 32), "prev_rgb": torch.rand(2, 3, 32, 32)}
    _, _, g_in = model.prepare_batch(batch)
    assert g_in[:, 1:].abs().sum() > 0  # the model's own previous colour was used
    assert model.netG.training  # back in train mode for the real step
    after = model.netG.state_dict()
    assert stats and all(torch.equal(v, after[k]) for k, v in stats.items())
