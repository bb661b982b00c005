"""Test-time augmentation (model.tta_flip, model.tta_shifts): shifted predictions are mapped
back onto the input's pixels, padding never counts, the cost is the advertised number of
generator passes, and the option is honoured by the model, eval and colorize."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import OPT, make_cfg
from PIL import Image
from test_video_helpers import ckpt  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.eval import evaluate
from colorgan.models.gan_module import ColorizationGAN
from colorgan.models.tta import check_tta_shifts, tta_predict

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}


class Counting(torch.nn.Module):
    """A per-pixel map (x -> 2x + 1): any misaligned shift would show; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return 2 * x + 1


@pytest.mark.parametrize("shifts", [0, 4, 8])
@pytest.mark.parametrize("flip", [False, True])
def test_every_pass_is_mapped_back_onto_the_input_pixels(shifts, flip):
    x = torch.randn(2, 1, 8, 12)
    net = Counting()
    out = tta_predict(net, x, flip, shifts)
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.allclose(out, 2 * x + 1, atol=1e-5)  # exact for a per-pixel network
    assert net.calls == (1 + shifts) * (2 if flip else 1)


def test_padding_is_never_averaged_in():
    """Pass k returns the constant k: inside, all 5 passes count (mean 3); in the top-left
    corner only the identity and the two shifts whose input there was real pixels do."""
    calls = []

    def net(x):
        calls.append(len(calls) + 1)
        return torch.full_like(x, float(len(calls)))

    # passes: identity, (0, 1), (1, 0), (0, -1), (-1, 0)
    out = tta_predict(net, torch.zeros(1, 1, 6, 6), shifts=4)[0, 0]
    assert out[3, 3] == pytest.approx(3.0)
    assert out[0, 0] == pytest.approx((1 + 4 + 5) / 3)
    assert out[5, 5] == pytest.approx((1 + 2 + 3) / 3)


def test_shift_averaging_changes_a_unet_and_keeps_flip_symmetry():
    torch.manual_seed(0)
    plain = ColorizationGAN(netG=G, adversarial=False, **OPT, tta_flip=True).eval()
    shifted = ColorizationGAN(netG=G, adversarial=False, **OPT, tta_flip=True, tta_shifts=4)
    shifted.load_state_dict(plain.state_dict())
    shifted.eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        a, b = shifted.predict(x), plain.predict(x)
        mirrored = shifted.predict(x.flip(-1)).flip(-1)
    assert (a - b).abs().max() > 1e-4  # the shifts are real passes, not a no-op
    assert torch.allclose(a, mirrored, atol=1e-5)  # the shift set is mirror-symmetric


@pytest.mark.parametrize("bad", [3, True, "four", 4.5, -4])
def test_bad_shift_counts_name_the_option(bad):
    with pytest.raises(ValueError, match=r"model.tta_shifts=.*choose one of \[0, 4, 8\]"):
        ColorizationGAN(netG=G, adversarial=False, **OPT, tta_shifts=bad)
    assert check_tta_shifts("8") == 8  # a value from the command line


def _photo(path, seed=0, size=(48, 40)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    Image.fromarray(((xx * 5 + yy * 3 + rng.integers(0, 40, xx.shape)) % 256).astype(np.uint8),
                    "L").save(path)
    return path


def test_colorize_tta_shifts(ckpt, tmp_path, capsys):  # noqa: F811
    assert Colorizer.from_checkpoint(ckpt, "cpu").shifts == 0  # the checkpoint's default
    src = _photo(tmp_path / "in.png", seed=3)
    mirrored = tmp_path / "mirror.png"
    Image.open(src).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    outs = {}
    for name, path, extra in (("plain", src, []), ("a", src, ["--tta-shifts", "4", "--flip"]),
                              ("b", mirrored, ["--tta-shifts", "4", "--flip"])):
        out = tmp_path / f"{name}.png"
        assert colorize_main([str(path), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                              *extra]) == 0
        outs[name] = np.asarray(Image.open(out)).astype(int)
    assert np.abs(outs["a"] - outs["plain"]).max() > 0
    assert np.abs(outs["a"] - outs["b"][:, ::-1]).max() <= 1  # f(flip x) = flip f(x)
    with pytest.raises(SystemExit):
        colorize_main([str(src), "-o", str(tmp_path / "x.png"), "--ckpt", str(ckpt),
                       "--tta-shifts", "3"])
    assert "--tta-shifts: invalid choice: 3" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_eval_tta_shifts_override(ckpt, tmp_path):  # noqa: F811
    def run(name, *overrides):
        cfg = make_cfg(tmp_path / name, [f"ckpt_path={ckpt}", "data.batch_size=4", "data.num_test=8",
                                         "trainer.enable_progress_bar=false", *overrides],
                       config_name="eval.yaml")
        return evaluate(cfg)[0]["model"]["psnr"]

    assert run("shifts", "tta_shifts=8") != pytest.approx(run("plain"), abs=1e-6)
    with pytest.raises(ValueError, match="tta_shifts=3: choose one of"):
        run("bad", "tta_shifts=3")


def test_fitting_averages_the_shifts_in_the_last_epoch_only(tmp_path, monkeypatch):
    """The calibrated gain the checkpoint keeps is measured on the shift-averaged prediction,
    while earlier epochs' validations stay at the flip's cost."""
    from conftest import TINY

    from colorgan.models import recipes
    from colorgan.train import train

    seen: list[tuple[str, int, int]] = []
    real = recipes.tta_predict

    def spy(net, x, flip=False, shifts=0):
        t = net_owner[0]._trainer
        seen.append((t.state.fn, t.current_epoch, shifts))
        return real(net, x, flip, shifts)

    net_owner: list = []
    orig = recipes.RecipeMixin.predict_raw

    def predict_raw(self, g_in):
        net_owner[:] = [self]
        return orig(self, g_in)

    monkeypatch.setattr(recipes, "tta_predict", spy)
    monkeypatch.setattr(recipes.RecipeMixin, "predict_raw", predict_raw)
    train(make_cfg(tmp_path, [*TINY, "trainer.max_epochs=2", "model.tta_flip=true",
                              "model.tta_shifts=4", "model.chroma_target=0.5",
                              "callbacks.sample_grid=null", "logger=[]"]))
    fit = {(epoch, shifts) for fn, epoch, shifts in seen if fn == "fit"}
    assert fit == {(0, 0), (1, 4)}  # sanity check and epoch 0 without shifts, epoch 1 with
    assert {shifts for fn, _, shifts in seen if fn == "validate"} == {4}  # final validation
