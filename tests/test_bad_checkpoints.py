"""Every kind of bad checkpoint file is named in one line, before any work, by every command
that reads one: colorize, eval-video, serve (``--ckpt``) and eval (``ckpt_path=``)
(docs/reliability.md, round three). Nothing is written at the target."""
from __future__ import annotations

import json
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from test_video_helpers import ckpt, make_video, scene_frames  # noqa: F401

from colorgan.colorize.cli import colorize_main, eval_video_main


def _empty(d: Path, good: Path) -> Path:
    (d / "empty.ckpt").write_bytes(b"")
    return d / "empty.ckpt"


def _text(d: Path, good: Path) -> Path:
    (d / "notes.ckpt").write_text("epoch=3 psnr=21.4\n")
    return d / "notes.ckpt"


def _folder(d: Path, good: Path) -> Path:
    (d / "run.ckpt" / "checkpoints").mkdir(parents=True)
    (d / "run.ckpt" / "checkpoints" / "last.ckpt").write_bytes(good.read_bytes())
    return d / "run.ckpt"


def _zip(d: Path, good: Path) -> Path:
    with zipfile.ZipFile(d / "photos.ckpt", "w") as z:
        z.writestr("photo.txt", "not weights")
    return d / "photos.ckpt"


def _truncated(d: Path, good: Path) -> Path:
    data = good.read_bytes()
    (d / "half.ckpt").write_bytes(data[:len(data) // 2])
    return d / "half.ckpt"


def _binary(d: Path, good: Path) -> Path:
    (d / "noise.ckpt").write_bytes(bytes(range(256)) * 8)
    return d / "noise.ckpt"


def _tensor(d: Path, good: Path) -> Path:
    torch.save(torch.zeros(3), d / "tensor.ckpt")
    return d / "tensor.ckpt"


def _other_model(d: Path, good: Path) -> Path:  # a Lightning checkpoint of another project
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)},
                "hyper_parameters": {"hidden": 8}}, d / "other.ckpt")
    return d / "other.ckpt"


def _objects(d: Path, good: Path) -> Path:  # pickled Python objects, not weights
    torch.save({"state_dict": {}, "hyper_parameters": {"x": Fraction(1, 3)}}, d / "obj.ckpt")
    return d / "obj.ckpt"


KINDS = {  # kind -> (make it, what the message says about it)
    "zero bytes": (_empty, "it is empty (0 bytes"),
    "text file": (_text, "it is a text file"),
    "folder": (_folder, "it is a folder (inside it: "),
    "zip of something else": (_zip, "it is a zip file of something else"),
    "truncated": (_truncated, "is not a complete checkpoint (truncated"),
    "binary noise": (_binary, "its content is not a checkpoint's"),
    "a tensor": (_tensor, "not a training checkpoint (it holds Tensor"),
    "another model": (_other_model, "not a colorgan checkpoint"),
    "python objects": (_objects, "holds Python objects other than weights"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_checkpoint_is_named_by_every_command(ckpt, tmp_path, capsys, monkeypatch,  # noqa: F811
                                                  kind):
    make, says = KINDS[kind]
    bad = make(tmp_path, ckpt)
    src = make_video(tmp_path / "in.mp4", scene_frames(3, 1))
    out = tmp_path / "out" / "film.mp4"
    from colorgan.app.cli import serve_main

    runs = {"colorize": lambda: colorize_main([str(src), "-o", str(out), "--ckpt", str(bad)]),
            "eval-video": lambda: eval_video_main([str(src), "--ckpt", str(bad)]),
            "serve": lambda: serve_main(["--ckpt", str(bad), "--port", "1"])}
    for name, run in runs.items():
        assert run() == 1, name
        err = capsys.readouterr().err
        assert err.startswith(f"error: --ckpt {bad}") and says in err, (name, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (name, err)
    assert not out.parent.exists()  # nothing written, not even the folder

    import colorgan.eval as ev
    monkeypatch.setattr(sys, "argv", ["eval", f"ckpt_path={bad}",
                                      f"hydra.run.dir={tmp_path / 'run'}"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as e:
        ev.main()
    err = capsys.readouterr().err
    says_eval = says.replace("not a colorgan checkpoint", "not colorgan's")
    assert e.value.code == 1 and f"error: ckpt_path={bad}" in err and says_eval in err, err
    assert "Traceback" not in err
    run = tmp_path / "run"  # the run folder holds the failure record only, no results
    assert json.loads((run / "metrics.json").read_text())["status"] == "failed"
    assert not (run / "samples.png").exists() and not (run / "metrics.md").exists()


EDITS = {  # hyper-parameters edited by hand or written by another version
    "netG a string": lambda hp: hp.__setitem__("netG", "unet"),
    "netG without a target": lambda hp: hp.__setitem__("netG", {}),
    "bad widths": lambda hp: hp["netG"].__setitem__("widths", "x"),
    "image size a word": lambda hp: hp.__setitem__("train_image_size", "big"),
    "temporal a number": lambda hp: hp.__setitem__("temporal", 5),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_checkpoint_with_broken_hyper_parameters_is_named(ckpt, tmp_path, capsys,  # noqa: F811
                                                          edit):
    from conftest import make_cfg

    from colorgan.eval import evaluate, load_model
    from colorgan.utils.config import ConfigError

    data = torch.load(ckpt, map_location="cpu", weights_only=True)
    EDITS[edit](data["hyper_parameters"])
    bad = tmp_path / "edited.ckpt"
    torch.save(data, bad)
    src = make_video(tmp_path / "in.mp4", scene_frames(3, 1))
    out = tmp_path / "out.mp4"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --ckpt {bad}: its hyper-parameters do not describe"), err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    if edit == "image size a word":  # eval reads it only when data.image_size is null
        cfg = make_cfg(tmp_path, [f"ckpt_path={bad}"], config_name="eval.yaml")
        with pytest.raises(ConfigError, match=f"ckpt_path={bad}: its train_image_size='big'"):
            evaluate(cfg)
        return
    with pytest.raises(ConfigError, match=f"ckpt_path={bad} is not a colorgan training ") as e:
        load_model(str(bad))
    assert len(str(e.value).splitlines()) == 1
