"""model/netG=unet_timm: a timm encoder's U-Net at full resolution, its weights from timm
(offline: one message), a local file (state dict or safetensors, checked key by key) or a
checkpoint (no download, no file needed), and the freeze-then-unfreeze schedule."""
from __future__ import annotations

import sys
from pathlib import Path

import huggingface_hub.constants
import pytest
import timm
import torch
from conftest import make_cfg, run_bounded
from safetensors.torch import save_file

from colorgan.colorize.colorizer import Colorizer
from colorgan.eval import load_model
from colorgan.models.guidance import bottleneck_module
from colorgan.models.pretrained import create_encoder
from colorgan.models.timm_unet import TimmUNet
from colorgan.train import train
from colorgan.utils.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SMALL = "mobilenetv3_small_050"  # 0.3 M parameters, stride 32
RUN = ["model/netG=unet_timm", f"model.netG.encoder={SMALL}", "data=synthetic",
       "model.netG.decoder_widths=[32,32,16,16,8]", "data.image_size=64", "data.batch_size=2",
       "data.num_train=2", "data.num_val=2",
       "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
       "callbacks.model_summary=null", "+trainer.num_sanity_val_steps=0"]


@pytest.fixture
def offline(monkeypatch):
    """The hub refuses at once (as without internet, minus 50 s of retries)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


@pytest.mark.parametrize("encoder,in_ch,out_ch", [(SMALL, 3, 2), ("convnext_atto", 1, 3)])
def test_decoder_returns_the_input_resolution(encoder, in_ch, out_ch):
    net = TimmUNet(in_ch, out_ch, encoder).eval()
    x = torch.rand(2, in_ch, 64, 96) * 2 - 1  # not square: 2 x 3 at the deepest stride
    y = net(x)
    assert y.shape == (2, out_ch, 64, 96) and y.abs().max() <= 1  # tanh, like every netG
    assert net.size_multiple == 32
    module, channels = bottleneck_module(net)  # class guidance hooks the deepest feature
    assert channels == net.encoder.feature_info.channels()[-1]
    with pytest.raises(ValueError, match="data.image_size to a multiple of 32"):
        net(torch.zeros(1, in_ch, 48, 64))


def test_temporal_channels_start_at_zero_and_the_encoder_sees_gray_as_rgb():
    net = TimmUNet(3, 2, SMALL).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    rgb = net.encoder_input(x)  # (1, 3, 32, 32): the previous ab adds nothing yet
    gray = (x[:, :1] + 1) / 2
    mean = torch.tensor(net.encoder.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(net.encoder.pretrained_cfg["std"]).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb, (gray - mean) / std)


@pytest.mark.parametrize("recipe", [
    ["model=unet_gan_dependent"],  # temporal: 1 + 2 input channels, GAN
    # bf16 autocast + NHWC weights with the encoder frozen (the GPU recipe's settings, on CPU)
    ["model=unet64_gan", "trainer.precision=bf16-mixed", "model.channels_last=true",
     "model.encoder.freeze_epochs=1"],
    pytest.param(["model=unet64_gan", "model.compile=true"], marks=pytest.mark.slow),
    pytest.param(["model=unet_mse", "model.color_space=rgb"], marks=pytest.mark.slow),
    pytest.param(["model=unet64_gan", "model.ema.enabled=true"], marks=pytest.mark.slow)])
def test_recipes_run_with_a_timm_encoder(tmp_path, recipe):
    cfg = make_cfg(tmp_path, [*RUN, *recipe, "debug=fdr"])
    if cfg.model.temporal.enabled:
        cfg.data.pairs = True
    metrics, obj = train(cfg)
    assert obj["trainer"].global_step > 0 and "val/psnr" in metrics


def test_places365_resnet34_recipe_composes_for_a_gpu_and_trains_here(tmp_path):
    cfg = make_cfg(tmp_path, ["experiment=places365_resnet34"])
    assert cfg.data._target_.endswith("Places365DataModule") and cfg.trainer.accelerator == "gpu"
    assert (cfg.model.netG.encoder, cfg.model.netG.pretrained) == ("resnet34", True)
    assert dict(cfg.model.encoder) == {"freeze_epochs": 1, "lr_mult": 0.1}
    assert cfg.data.image_size % 32 == 0
    weights = tmp_path / "enc.pt"  # its model section, offline: small encoder, local weights
    torch.save(timm.create_model(SMALL, features_only=True).state_dict(), weights)
    cfg = make_cfg(tmp_path / "cpu", ["experiment=places365_resnet34", "data=synthetic",
                                      "trainer=cpu", *RUN, f"model.netG.pretrained={weights}",
                                      "model.netD.ndf=8", "debug=fdr", "~data.max_val"])
    _, obj = train(cfg)
    assert obj["trainer"].global_step > 0


def test_image_size_the_encoder_cannot_divide_names_the_option(tmp_path):
    with pytest.raises(ConfigError, match=r"data.image_size=48 .* divisible by 32"):
        train(make_cfg(tmp_path, [*RUN, "data.image_size=48"]))


def test_offline_pretrained_true_is_one_message(tmp_path, monkeypatch, capsys, offline):
    from colorgan.train import main
    monkeypatch.setattr(sys, "argv", ["train.py", *RUN, "model.netG.pretrained=true",
                                      f"hydra.run.dir={tmp_path}/run"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 1 and "Traceback" not in err
    line = next(x for x in err.splitlines() if x.startswith("error:"))
    assert "model.netG.pretrained=true: could not download the mobilenetv3_small_050" in line
    assert "model.netG.pretrained=PATH" in line and "internet" in line


@pytest.mark.parametrize("kind", ["features", "classifier_safetensors"])
def test_local_weights_file_gives_identical_encoder_weights(tmp_path, kind):
    if kind == "features":  # what encoder.state_dict() saves
        src = timm.create_model(SMALL, features_only=True)
        path = tmp_path / "enc.pt"
        torch.save(src.state_dict(), path)
        want = _params(src)
    else:  # timm's classification model, its head ignored
        src = timm.create_model(SMALL)
        path = tmp_path / "enc.safetensors"
        save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
        want = {k: v for k, v in _params(src).items() if not k.startswith(("conv_head", "classifier"))}
    got = _params(TimmUNet(1, 2, SMALL, pretrained=str(path)).encoder)
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
    fresh = _params(TimmUNet(1, 2, SMALL).encoder)  # another random init: not the file's
    assert not torch.equal(got["conv_stem.weight"], fresh["conv_stem.weight"])


def test_classifier_file_whose_keys_timm_renames_loads(tmp_path):
    """convnext's features_only encoder names its stem stem_0 where the classifier says stem.0."""
    src = timm.create_model("convnext_atto").eval()
    path = tmp_path / "convnext.pth"
    torch.save({"state_dict": src.state_dict()}, path)
    enc = create_encoder("convnext_atto", str(path)).eval()
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(enc(x)[-1], src.forward_features(x))


def test_wrong_weights_file_lists_the_keys_and_names_the_option(tmp_path):
    sd = timm.create_model(SMALL, features_only=True).state_dict()
    sd = {"backbone." + k: v for k, v in list(sd.items())[:3]}
    torch.save(sd, tmp_path / "other.pt")
    with pytest.raises(ValueError) as e:
        create_encoder(SMALL, str(tmp_path / "other.pt"))
    msg = str(e.value)
    assert "model.netG.pretrained=" in msg and "model.netG.encoder" in msg
    assert "missing" in msg and "conv_stem.weight" in msg
    assert "unexpected keys (backbone.conv_stem.weight" in msg
    good = timm.create_model(SMALL, features_only=True).state_dict()
    good["conv_stem.weight"] = torch.zeros(1, 1, 3, 3)
    torch.save(good, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match=r"other shapes.*conv_stem.weight \(1, 1, 3, 3\)"):
        create_encoder(SMALL, str(tmp_path / "shape.pt"))


def test_missing_or_unreadable_weights_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"model.netG.pretrained=.*nope.pt: no such file"):
        create_encoder(SMALL, str(tmp_path / "nope.pt"))
    (tmp_path / "junk.safetensors").write_bytes(b"not weights")
    with pytest.raises(ValueError, match="junk.safetensors is not a readable state dict"):
        create_encoder(SMALL, str(tmp_path / "junk.safetensors"))
    with pytest.raises(ValueError, match="model.netG.encoder='resnet_9000' is not a timm model"):
        create_encoder("resnet_9000")


def test_encoder_options_need_an_encoder(tmp_path):
    cfg = make_cfg(tmp_path, ["model/netG=unet_32", "model.encoder.lr_mult=0.1"])
    with pytest.raises(Exception, match="model.encoder.freeze_epochs=0 / lr_mult=0.1 need"):
        train(cfg)


def test_freeze_then_unfreeze_resumes_and_checkpoints_need_no_weights(tmp_path, offline):
    """Epoch 0 frozen (the encoder keeps the file's weights), resumed: epoch 1 trains it at
    lr x 0.1; eval, colorize and the resume rebuild netG without the deleted weights file."""
    weights = tmp_path / "enc.pt"
    src = timm.create_model(SMALL, features_only=True)
    torch.save(src.state_dict(), weights)
    opts = [*RUN, f"model.netG.pretrained={weights}", "model.encoder.freeze_epochs=1",
            "model.encoder.lr_mult=0.1"]
    cfg = make_cfg(tmp_path / "a", opts)
    _, first = train(cfg)
    gan = first["model"]
    enc, dec = _params(gan.netG.encoder), _params(gan.netG.head)
    assert all(torch.equal(enc[k], v) for k, v in _params(src).items())  # frozen all epoch 0
    assert not any(p.requires_grad for p in gan.netG.encoder_parameters())
    groups = gan.generator_optimizer().optimizer.param_groups
    assert len(groups) == 2 and groups[1]["lr"] == pytest.approx(0.1 * groups[0]["lr"])
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    weights.unlink()  # from here on the checkpoint alone holds the encoder
    cfg2 = make_cfg(tmp_path / "b", [*opts, f"ckpt_path={last}", "trainer.max_epochs=2"])
    _, second = train(cfg2)
    gan2 = second["model"]
    assert all(p.requires_grad for p in gan2.netG.encoder_parameters())  # unfrozen after resume
    moved = _params(gan2.netG.encoder)
    assert any(not torch.equal(moved[k], enc[k]) for k in enc)
    assert any(not torch.equal(v, dec[k]) for k, v in _params(gan2.netG.head).items())
    assert load_model(str(last)).netG.encoder_name == SMALL  # eval's rebuild
    colorizer = Colorizer.from_checkpoint(last, device="cpu")  # colorize's rebuild
    out = colorizer.netG(torch.zeros(1, 1, 64, 64))
    assert out.shape == (1, 2, 64, 64)


@pytest.mark.slow
def test_ddp_sim_freeze_then_unfreeze_keeps_the_ranks_in_sync(tmp_path):
    """gan_ddp rebuilds netG's wrapper when the encoder starts training: both ranks update it."""
    run = tmp_path / "run"
    src = timm.create_model(SMALL, features_only=True)
    torch.save(src.state_dict(), tmp_path / "enc.pt")
    cmd = [sys.executable, str(ROOT / "train.py"), "trainer=ddp_sim", *RUN, "data.num_train=8",
           f"model.netG.pretrained={tmp_path / 'enc.pt'}", "trainer.max_epochs=2",
           "model.encoder.freeze_epochs=1", "model.encoder.lr_mult=0.5",
           "+callbacks.ranks_in_sync._target_=colorgan.models.ddp.RanksInSync",
           f"paths.log_dir={tmp_path / 'logs'}", f"hydra.run.dir={run}"]
    proc = run_bounded(cmd, tmp_path, timeout=400)
    assert proc.returncode == 0, proc.stdout[-4000:]
    # 8 images / (batch 2 x 2 ranks) = 2 batches an epoch, each a D and a G step
    assert "Weights identical on 2 ranks after step 8" in proc.stdout, proc.stdout[-4000:]
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    trained = {k[len("netG.encoder."):]: v for k, v in state["state_dict"].items()
               if k.startswith("netG.encoder.")}
    assert any(not torch.equal(trained[k], v) for k, v in _params(src).items())  # epoch 1 trained it
