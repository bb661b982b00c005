"""Flip averaging (model.tta_flip, --flip): the mirrored prediction is mapped back onto the
input's pixels, costs one more generator pass, and is honoured by the model, eval and
colorize."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import OPT, make_cfg
from PIL import Image
from test_video_helpers import ckpt  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.eval import evaluate
from colorgan.models.gan_module import ColorizationGAN
from colorgan.predictor import flip_average

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}


class Counting(torch.nn.Module):
    """A per-pixel map (x -> 2x + 1): any misaligned flip would show; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return 2 * x + 1


@pytest.mark.parametrize("flip", [False, True])
def test_every_pass_is_mapped_back_onto_the_input_pixels(flip):
    x = torch.randn(2, 1, 8, 12)
    net = Counting()
    out = flip_average(net, x, flip)
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.allclose(out, 2 * x + 1, atol=1e-5)  # exact for a per-pixel network
    assert net.calls == (2 if flip else 1)


def test_flip_averaging_changes_a_unet():
    torch.manual_seed(0)
    plain = ColorizationGAN(netG=G, adversarial=False, **OPT).eval()
    flipped = ColorizationGAN(netG=G, adversarial=False, **{**OPT, "tta_flip": True})
    flipped.load_state_dict(plain.state_dict())
    flipped.eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        a, b = flipped.predictor.output(x), plain.predictor.output(x)
    assert (a - b).abs().max() > 1e-4  # the flip is a real pass, not a no-op (symmetry:
    # tests/test_recipes.py)


def _photo(path, seed=0, size=(48, 40)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    Image.fromarray(((xx * 5 + yy * 3 + rng.integers(0, 40, xx.shape)) % 256).astype(np.uint8),
                    "L").save(path)
    return path


def test_colorize_flip(ckpt, tmp_path, capsys):  # noqa: F811
    src = _photo(tmp_path / "in.png", seed=3)
    mirrored = tmp_path / "mirror.png"
    Image.open(src).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    outs = {}
    for name, path, extra in (("plain", src, ["--no-flip"]), ("a", src, ["--flip"]),
                              ("b", mirrored, ["--flip"])):
        out = tmp_path / f"{name}.png"
        assert colorize_main([str(path), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                              *extra]) == 0
        outs[name] = np.asarray(Image.open(out)).astype(int)
    assert np.abs(outs["a"] - outs["plain"]).max() > 0
    assert np.abs(outs["a"] - outs["b"][:, ::-1]).max() <= 1  # f(flip x) = flip f(x)
    with pytest.raises(SystemExit):
        colorize_main([str(src), "-o", str(tmp_path / "x.png"), "--ckpt", str(ckpt),
                       "--tta-shifts", "4"])  # retired
    assert "unrecognized arguments: --tta-shifts" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_eval_tta_flip_override(ckpt, tmp_path):  # noqa: F811
    def run(name, *overrides):
        cfg = make_cfg(tmp_path / name, [f"ckpt_path={ckpt}", "data.batch_size=4", "data.num_test=8",
                                         "trainer.enable_progress_bar=false", *overrides],
                       config_name="eval.yaml")
        return evaluate(cfg)[0]["model"]["psnr"]

    assert run("flip", "tta_flip=true") != pytest.approx(run("plain", "tta_flip=false"), abs=1e-6)
