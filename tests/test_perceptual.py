"""model.lambda_perceptual: VGG16-bn feature L1 on the decoded RGB, with weights the tests write
themselves (no download): zero for equal images, gradients to netG only, float32 under
autocast, kept out of checkpoints, and clear errors for a missing file, wrong keys, offline."""
from __future__ import annotations

from urllib.error import URLError

import pytest
import torch
from conftest import OPT, TINY, make_cfg
from torchvision.models import VGG16_BN_Weights
from torchvision.models.vgg import cfgs, make_layers

from colorgan.models.gan_module import ColorizationGAN
from colorgan.models.perceptual import PerceptualLoss, layer_names
from colorgan.train import train

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
SMALL = {"layers": ["conv1_1", "conv2_1"], "layer_weights": [0.5, 1.0]}  # features[:8]


def write_vgg(path, layers: int = 8):
    """A random vgg16_bn state dict cut after ``layers`` feature layers (features.<i>.*)."""
    torch.manual_seed(0)
    net = make_layers(cfgs["D"], batch_norm=True)[:layers]
    for m in net.modules():  # non-trivial BN statistics, as in trained weights
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save({f"features.{k}": v for k, v in net.state_dict().items()  # as torchvision's file:
                if not k.endswith("num_batches_tracked")}, path)  # no num_batches_tracked
    return path


def test_layer_names_match_torchvision_vgg16_bn_features():
    names = layer_names()
    kinds = {"conv": torch.nn.Conv2d, "bn": torch.nn.BatchNorm2d, "relu": torch.nn.ReLU,
             "pool": torch.nn.MaxPool2d}
    net = make_layers(cfgs["D"], batch_norm=True)
    assert len(names) == len(net) == 44
    for name, layer in zip(names, net):
        assert isinstance(layer, kinds[name.rstrip("0123456789_")]), name
    assert names.index("conv5_1") == 34 and names.index("conv2_1") == 7


def test_zero_for_equal_images_positive_otherwise_and_gradients_reach_the_input_only(tmp_path):
    loss = PerceptualLoss(weights=str(write_vgg(tmp_path / "vgg.pt", 35)))  # DDColor's 5 layers
    real = torch.rand(2, 3, 32, 32)
    assert float(loss(real.clone(), real)) == pytest.approx(0.0, abs=1e-7)
    fake = (real + 0.1 * torch.randn_like(real)).clamp(0, 1).requires_grad_(True)
    value = loss(fake, real)
    assert float(value) > 1e-3
    value.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.net.parameters())
    assert not loss.net.training


def test_float32_under_bf16_autocast(tmp_path):
    loss = PerceptualLoss(**SMALL, weights=str(write_vgg(tmp_path / "vgg.pt")))
    real, fake = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    plain = loss(fake, real)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(fake, real)
    assert mixed.dtype == torch.float32 and float(mixed) == pytest.approx(float(plain), rel=1e-6)


def test_gradients_reach_netG_but_vgg_stays_out_of_the_state_dict(tmp_path):
    model = ColorizationGAN(netG=G, netD=None, adversarial=False, lambda_perceptual=2.0,
                            perceptual={**SMALL, "weights": str(write_vgg(tmp_path / "vgg.pt"))},
                            **OPT)
    real_A, real_B = model.cs.encode(torch.rand(2, 3, 32, 32))
    loss = model.perceptual_loss(real_A, real_B, model.netG(real_A))["loss_G_perceptual"]
    loss.backward()
    assert float(loss) > 0
    assert all(p.grad is not None for p in model.netG.parameters())
    assert all(p.grad is None for p in model.perceptual.net.parameters())
    keys = list(model.state_dict())
    assert keys and all(k.startswith(("netG.", "val_metrics", "test_metrics")) for k in keys), keys
    # eval / colorize rebuild the model from the checkpoint without ever loading VGG
    again = ColorizationGAN(**model.hparams)
    again.load_state_dict(model.state_dict())
    assert again.perceptual.net is None
    off = ColorizationGAN(netG=G, netD=None, adversarial=False, **OPT)
    assert off.perceptual is None and off.perceptual_loss(real_A, real_B, real_B) == {}


def test_fast_dev_run_trains_with_weights_from_a_file_and_logs_the_loss(tmp_path):
    vgg = write_vgg(tmp_path / "vgg.pt")
    cfg = make_cfg(tmp_path, [*TINY, "debug=fdr", "model.lambda_perceptual=5.0",
                              f"model.perceptual.weights={vgg}",
                              "model.perceptual.layers=[conv1_1,conv2_1]",
                              "model.perceptual.layer_weights=[0.5,1.0]", "validate_after_fit=false"])
    _, objects = train(cfg)
    logged = objects["trainer"].logged_metrics
    assert objects["trainer"].global_step >= 1 and "val/psnr" in logged, sorted(logged)
    assert float(logged["train/loss_G_perceptual_step"]) > 0, sorted(logged)


def test_offline_without_weights_says_what_to_do(monkeypatch, tmp_path):
    def offline(*args, **kwargs):  # what torchvision's download raises without a network
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(type(VGG16_BN_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    message = (r"model.lambda_perceptual>0 needs VGG16-bn weights: .*vgg16_bn-6c64b313.pth could "
               r"not be downloaded \(.*Name or service.*\); pass model.perceptual.weights=PATH "
               r"\(a state dict of torchvision's vgg16_bn\) or run once online")
    with pytest.raises(ValueError, match=message):
        PerceptualLoss(**SMALL).load()
    cfg = make_cfg(tmp_path, [*TINY, "debug=fdr", "model.lambda_perceptual=1.0"])
    with pytest.raises(ValueError, match=message):  # before the first training step
        train(cfg)


def test_bad_weights_files_name_the_option_the_file_and_the_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model.perceptual.weights=.*nope.pt: no such"):
        PerceptualLoss(**SMALL, weights=str(tmp_path / "nope.pt")).load()
    torch.save({"encoder.0.weight": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match=r"model.perceptual.weights=.*wrong.pt.*missing "
                                         r"\['features.0.bias'.*encoder.0.weight"):
        PerceptualLoss(**SMALL, weights=str(tmp_path / "wrong.pt")).load()
    short = write_vgg(tmp_path / "short.pt", 8)  # conv1_1..conv2_1 only: conv5_1 is missing
    with pytest.raises(ValueError, match=r"missing \['features.8.bias', 'features.8.running_mean'"):
        PerceptualLoss(weights=str(short)).load()
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt is not a readable state dict"):
        PerceptualLoss(**SMALL, weights=str(tmp_path / "junk.pt")).load()


@pytest.mark.parametrize(("opts", "match"), [
    ({"layers": ["conv9_9"], "layer_weights": [1.0]}, r"layers=\['conv9_9'\]: unknown"),
    ({"layers": ["conv1_1", "conv2_1"], "layer_weights": [1.0]}, "one weight per layer"),
])
def test_bad_layer_options_name_the_option(opts, match):
    with pytest.raises(ValueError, match=match):
        ColorizationGAN(netG=G, netD=None, adversarial=False, lambda_perceptual=1.0,
                        perceptual=opts, **OPT)
    with pytest.raises(ValueError, match="model.lambda_perceptual=-1"):
        ColorizationGAN(netG=G, netD=None, adversarial=False, lambda_perceptual=-1, **OPT)
