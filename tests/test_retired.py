"""Retired switches (colorgan/models/retired.py): a checkpoint trained with one still loads for
inference, with one warning line naming what is ignored and what is used instead; a training
config that names one fails before training."""
from __future__ import annotations

import warnings

import pytest
import torch
from test_video_helpers import ckpt  # noqa: F401

from colorgan.colorize.colorizer import Colorizer
from colorgan.eval import load_model

OLD = {"rec_at_colour": 0.95, "tta_shifts": 4, "chroma_per_class": True,
       "chroma_class_rule": "posterior", "chroma_class_table": [[0.1, 0.2], [0.3, 0.4]],
       "chroma_class_gains": None, "chroma_gain": 1.7}


def _old_checkpoint(src, dst, **extra):
    data = torch.load(src, map_location="cpu", weights_only=False)
    hp = data["hyper_parameters"]
    hp.update({**OLD, **extra})
    hp["class_guidance"] = {**dict(hp.get("class_guidance") or {}), "labels": "colorfulness",
                            "detach": True}
    torch.save(data, dst)
    return dst


def test_an_old_checkpoint_with_retired_switches_loads_with_one_warning(ckpt, tmp_path):  # noqa: F811
    old = _old_checkpoint(ckpt, tmp_path / "old.ckpt")
    with pytest.warns(UserWarning) as got:
        c = Colorizer.from_checkpoint(old, "cpu")
    lines = [str(w.message) for w in got if "retired" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0]
    for name in ("model.tta_shifts=4", "model.chroma_per_class=True", "model.rec_at_colour=0.95",
                 "model.class_guidance.labels='colorfulness'", "--chroma-gain"):
        assert name in lines[0]
    assert c.chroma_gain == pytest.approx(1.7)  # its one calibrated gain for every photo
    out = c.colorize(torch.randint(0, 255, (1, 3, 20, 28), dtype=torch.uint8))
    assert out.shape == (1, 3, 20, 28)
    with pytest.warns(UserWarning, match="retired switch"):
        model = load_model(str(old))  # eval.py's reader: Lightning drops the unknown keys
    assert model.hparams.chroma_gain == pytest.approx(1.7)
    assert "tta_shifts" not in model.hparams and "chroma_per_class" not in model.hparams


def test_a_checkpoint_without_retired_switches_loads_silently(ckpt, tmp_path):  # noqa: F811
    data = torch.load(ckpt, map_location="cpu", weights_only=False)
    data["hyper_parameters"].update(tta_shifts=0, rec_at_colour=None, chroma_per_class=False)
    torch.save(data, tmp_path / "off.ckpt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Colorizer.from_checkpoint(tmp_path / "off.ckpt", "cpu")


@pytest.mark.parametrize("override", ["model.tta_shifts=4", "model.chroma_per_class=true",
                                      "model.rec_at_colour=0.95"])
def test_a_training_config_with_a_retired_switch_is_refused(tmp_path, override):
    from conftest import TINY, make_cfg

    with pytest.raises(Exception, match=override.split("=")[0].split(".")[-1]):
        make_cfg(tmp_path, [*TINY, override])
