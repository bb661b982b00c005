"""Loading checkpoints into a Colorizer: full-resolution output, clear errors for bad files."""
from __future__ import annotations

import pytest
import torch
from test_video_helpers import ckpt  # noqa: F401

from colorgan.color import rgb_to_lab_norm
from colorgan.colorize.colorizer import CheckpointError, Colorizer, pick_device


def test_output_has_input_size_and_its_full_resolution_luminance(ckpt):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    assert c.image_size == 32 and not c.temporal
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, 3, 90, 160), generator=g, dtype=torch.uint8)
    out = c.colorize(frames)
    assert out.shape == frames.shape and out.dtype == torch.uint8
    L_in = rgb_to_lab_norm(frames.float() / 255)[0]
    L_out = rgb_to_lab_norm(out.float() / 255)[0]
    # every pixel keeps its own lightness (up to gamut clipping): fine detail is not blurred
    assert (L_out - L_in).abs().median() < 0.02


def test_not_a_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="missing.ckpt: no such file"):
        Colorizer.from_checkpoint(tmp_path / "missing.ckpt")
    text = tmp_path / "notes.ckpt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.ckpt is not a readable PyTorch checkpoint"):
        Colorizer.from_checkpoint(text)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"layer.weight": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="other.ckpt is not a colorgan checkpoint"):
        Colorizer.from_checkpoint(other)


def test_weights_that_do_not_fit_the_generator(ckpt, tmp_path):  # noqa: F811
    data = torch.load(ckpt, map_location="cpu", weights_only=True)
    data["hyper_parameters"]["netG"]["ngf"] = 16  # hparams now describe a wider network
    bad = tmp_path / "mismatch.ckpt"
    torch.save(data, bad)
    with pytest.raises(CheckpointError, match="mismatch.ckpt: weights do not fit"):
        Colorizer.from_checkpoint(bad)


def test_device_and_precision_options(ckpt):  # noqa: F811
    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert pick_device(None).type == "cpu"
        with pytest.raises(ValueError, match="--device cuda"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="--precision"):
        Colorizer.from_checkpoint(ckpt, device="cpu", precision="fp8")
    assert Colorizer.from_checkpoint(ckpt, device="cpu").amp_dtype is None  # fp32 on CPU
