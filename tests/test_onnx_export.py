"""colorgan export and colorize --backend onnx: parity with PyTorch at several sizes, the same
photos and films as --ckpt, no model code loaded, and clear errors that write nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image
from test_video_helpers import make_video, scene_frames

from colorgan.cli import COMMANDS, main
from colorgan.colorize.cli import colorize_main
from colorgan.colorize.export import export_main, export_onnx
from colorgan.colorize.onnx_backend import sidecar_path
from colorgan.models.gan_module import build_generator
from colorgan.predictor import flip_average

ort = pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[1]

# netG configs by name (conf/model/netG/<name>.yaml) with overrides that keep them small; a
# config this branch does not have yet (unet_timm arrives with the timm encoders) is skipped
NETS = {
    "unet_32": {"ngf": 8},
    "resnet_6": {"ngf": 8, "n_blocks": 2},
    "unet_timm": {"encoder": "resnet18", "pretrained": False, "decoder_widths": [32, 16, 16, 8, 8]},
}


def _config(name: str) -> Path:
    return ROOT / "conf/model/netG" / f"{name}.yaml"


def _nets(flip: bool) -> list:
    return [pytest.param(n, flip, marks=pytest.mark.skipif(
        not _config(n).is_file(), reason=f"no {_config(n).relative_to(ROOT)} on this branch"))
        for n in sorted(NETS)]


def _net(name: str, seed: int, temporal: bool = False,
         classification: dict | None = None) -> torch.nn.Module:
    cfg = OmegaConf.to_container(OmegaConf.load(_config(name)))
    cfg.update(NETS[name])
    torch.manual_seed(seed)
    net = build_generator(cfg, "lab", {"enabled": temporal}, classification).eval()
    for m in net.modules():  # non-trivial normalisation statistics
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return net, cfg


def fake_checkpoint(path: Path, name: str = "unet_32", flip: bool = True,
                    temporal: bool = False, gain: float = 1.2,
                    classification: dict | None = None) -> tuple[Path, torch.nn.Module]:
    """A checkpoint with raw and (different) EMA generator weights; returns it and the EMA net."""
    raw, cfg = _net(name, 0, temporal, classification)
    ema, _ = _net(name, 1, temporal, classification)
    state = {f"netG.{k}": v for k, v in raw.state_dict().items()}
    state.update({f"netG_ema.module.{k}": v for k, v in ema.state_dict().items()})
    hp = {"netG": cfg, "color_space": "lab", "train_image_size": 32, "tta_flip": flip,
          "chroma_gain": gain, "chroma_center": "zero",
          "temporal": {"enabled": temporal, "pair_fps": 5.0 if temporal else None},
          "classification": classification}
    torch.save({"hyper_parameters": hp, "state_dict": state}, path)
    return path, ema


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A flip-averaging U-Net checkpoint and its ONNX export."""
    d = tmp_path_factory.mktemp("onnx")
    ckpt, _ = fake_checkpoint(d / "unet.ckpt", gain=20.0)  # random weights: faint colour
    export_onnx(ckpt, d / "m.onnx")
    return ckpt, d / "m.onnx"


@pytest.mark.parametrize(("name", "flip"), _nets(True) + [("unet_32", False)])
def test_onnx_matches_the_pytorch_generator_at_two_sizes(name, flip, tmp_path):
    ckpt, ema = fake_checkpoint(tmp_path / "g.ckpt", name, flip)
    meta = export_onnx(ckpt, tmp_path / "g.onnx")
    assert meta["in_graph"] == {"weights": "ema", "flip": flip, "temperature": None}
    assert meta["image_size"] == 32 and meta["chroma_gain"] == 1.2 and meta["opset"] == 17
    assert json.loads(sidecar_path(tmp_path / "g.onnx").read_text()) == meta
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(5)
    for shape in [(1, 1, 64, 96), (3, 1, 96, 32)]:  # neither is the export's example shape
        x = torch.rand(shape, generator=g) * 2 - 1
        with torch.no_grad():
            ref = flip_average(ema, x, flip)  # the EMA weights, averaged
        out = session.run(None, {"input": x.numpy()})[0]
        assert out.shape == (shape[0], 2, *shape[2:])
        assert np.abs(out - ref.numpy()).max() <= 1e-4


def test_temporal_model_takes_the_previous_colour(tmp_path):
    ckpt, ema = fake_checkpoint(tmp_path / "t.ckpt", temporal=True, flip=False, gain=20.0)
    meta = export_onnx(ckpt, tmp_path / "t.onnx")
    assert meta["temporal"] is True and meta["input_channels"] == 3 and meta["pair_fps"] == 5.0
    x = torch.rand(1, 3, 32, 64) * 2 - 1
    session = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = ema(x).numpy()
    assert np.abs(session.run(None, {"input": x.numpy()})[0] - ref).max() <= 1e-4
    src = make_video(tmp_path / "in.mp4", scene_frames(4, 2))  # each frame sees the last colour
    common = ["--no-progress", "--crf", "0", "--temporal", "dependent"]
    assert colorize_main([str(src), "-o", str(tmp_path / "t.mp4"), "--ckpt", str(ckpt),
                          *common]) == 0
    assert colorize_main([str(src), "-o", str(tmp_path / "o.mp4"), "--backend", "onnx",
                          "--model", str(tmp_path / "t.onnx"), *common]) == 0
    assert np.abs(_frames(tmp_path / "t.mp4") - _frames(tmp_path / "o.mp4")).max() <= 2


def test_classification_model_decodes_at_the_exported_temperature(tmp_path, capsys):
    cls = {"enabled": True, "temperature": 0.38, "head_width": 8}
    ckpt, ema = fake_checkpoint(tmp_path / "c.ckpt", flip=False, classification=cls)
    assert export_main(["--ckpt", str(ckpt), "-o", str(tmp_path / "c.onnx"),
                        "--temperature", "0.5"]) == 0
    meta = json.loads(sidecar_path(tmp_path / "c.onnx").read_text())
    assert meta["in_graph"]["temperature"] == 0.5
    ema.temperature = 0.5
    x = torch.rand(2, 1, 32, 64) * 2 - 1
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = ema(x).numpy()  # (B, 2, H, W): the annealed mean over the bins
    assert np.abs(session.run(None, {"input": x.numpy()})[0] - ref).max() <= 1e-4
    src, out = _photo(tmp_path / "p.png"), tmp_path / "o.png"
    onnx = [str(src), "-o", str(out), "--backend", "onnx", "--model", str(tmp_path / "c.onnx")]
    _fails([*onnx, "--temperature", "0.3"], capsys, "has temperature=0.5 inside its graph", out)
    assert colorize_main([*onnx, "--temperature", "0.5"]) == 0 and out.is_file()


def _photo(path: Path) -> Path:
    rgb = (np.stack(scene_frames(1, 3, h=50, w=70)[0:1])[0]).astype(np.uint8)  # (H, W, 3)
    Image.fromarray(rgb).convert("L").save(path)
    return path


def test_photo_is_the_same_as_with_the_checkpoint(exported, tmp_path):
    ckpt, model = exported
    src = _photo(tmp_path / "p.png")
    assert colorize_main([str(src), "-o", str(tmp_path / "t.png"), "--ckpt", str(ckpt)]) == 0
    assert colorize_main([str(src), "-o", str(tmp_path / "o.png"), "--backend", "onnx",
                          "--model", str(model)]) == 0
    assert colorize_main([str(src), "-o", str(tmp_path / "o2.png"), "--backend", "onnx",
                          "--model", str(model), "--chroma-gain", "40"]) == 0
    assert colorize_main([str(src), "-o", str(tmp_path / "t2.png"), "--ckpt", str(ckpt),
                          "--chroma-gain", "40"]) == 0
    t, o, t2, o2 = (np.asarray(Image.open(tmp_path / f"{n}.png"), dtype=int)
                    for n in ("t", "o", "t2", "o2"))
    assert t.shape == (50, 70, 3) and np.ptp(t, axis=2).max() > 5  # in colour, not gray
    assert np.abs(t - o).max() <= 1 and np.abs(t2 - o2).max() <= 1  # within 1/255
    assert np.abs(t - t2).max() > 5  # --chroma-gain applies with either backend


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as f:
        return np.stack([fr.to_ndarray(format="rgb24") for fr in f.decode(video=0)]).astype(int)


def test_film_is_the_same_as_with_the_checkpoint(exported, tmp_path):
    ckpt, model = exported
    src = make_video(tmp_path / "in.mp4", scene_frames(6, 2))
    common = ["--no-progress", "--crf", "0", "--keyframe-interval", "1"]  # lossless: compare
    assert colorize_main([str(src), "-o", str(tmp_path / "t.mp4"), "--ckpt", str(ckpt),
                          *common]) == 0
    assert colorize_main([str(src), "-o", str(tmp_path / "o.mp4"), "--backend", "onnx",
                          "--model", str(model), *common]) == 0
    a, b = _frames(tmp_path / "t.mp4"), _frames(tmp_path / "o.mp4")
    assert a.shape == b.shape == (6, 48, 64, 3) and np.ptp(a, axis=-1).max() > 5  # colour
    assert np.abs(a - b).max() <= 2  # chroma planes within 1/255, through the YUV -> RGB decode


def test_onnx_backend_loads_no_model_code(exported, tmp_path):
    _, model = exported
    src, out = _photo(tmp_path / "p.png"), tmp_path / "o.png"
    code = (f"import sys; from colorgan.cli import main; "
            f"rc = main(['colorize', {str(src)!r}, '-o', {str(out)!r}, '--backend', 'onnx', "
            f"'--model', {str(model)!r}]); "
            "bad = [m for m in sys.modules if m.startswith('colorgan.models') or "
            "m.split('.')[0] in ('pytorch_lightning', 'lightning', 'hydra', 'omegaconf')]; "
            "print('loaded:', bad); sys.exit(rc or (3 if bad else 0))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loaded: []" in r.stdout and out.is_file()


def test_export_is_a_colorgan_command(capsys):
    assert "export" in COMMANDS
    with pytest.raises(SystemExit) as e:
        main(["export", "--help"])
    assert e.value.code == 0 and "--ckpt" in capsys.readouterr().out


def _fails(argv, capsys, message: str, target: Path) -> None:
    assert colorize_main(argv) == 1
    assert message in capsys.readouterr().err
    assert not target.exists()


def test_option_mistakes_are_named_and_write_nothing(exported, tmp_path, capsys):
    ckpt, model = exported
    src, out = _photo(tmp_path / "p.png"), tmp_path / "o.png"
    base = [str(src), "-o", str(out)]
    _fails([*base, "--backend", "onnx"], capsys, "--backend onnx needs --model", out)
    _fails([*base, "--backend", "onnx", "--model", str(model), "--ckpt", str(ckpt)], capsys,
           "with --backend onnx: the ONNX model replaces the checkpoint", out)
    _fails([*base, "--model", str(model)], capsys, "is read by --backend onnx", out)
    _fails(base, capsys, "--ckpt CKPT is required", out)
    onnx = [*base, "--backend", "onnx", "--model", str(model)]
    _fails([*onnx, "--no-flip"], capsys, "has flip=True inside its graph; export again", out)
    _fails([*onnx, "--temperature", "0.4"], capsys, "predicts colour directly", out)
    _fails([*onnx, "--precision", "bf16"], capsys, "the exported graph is fp32", out)
    assert colorize_main([*onnx, "--flip"]) == 0  # the value inside the graph is accepted


def test_bad_model_files_are_named_and_write_nothing(exported, tmp_path, capsys):
    _, model = exported
    src, out = _photo(tmp_path / "p.png"), tmp_path / "o.png"

    def run(m: Path, message: str) -> None:
        _fails([str(src), "-o", str(out), "--backend", "onnx", "--model", str(m)], capsys,
               message, out)

    run(tmp_path / "none.onnx", "none.onnx: no such file")
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(model.read_bytes())
    run(lonely, "lonely.onnx.json is missing")
    other = tmp_path / "other.onnx"  # a sidecar that belongs to another file
    other.write_bytes(model.read_bytes()[:-10])
    sidecar_path(other).write_text(sidecar_path(model).read_text())
    run(other, "SHA-256 differs")
    sidecar_path(other).write_text("{not json")
    run(other, "other.onnx.json: not readable JSON")
    meta = json.loads(sidecar_path(model).read_text())
    del meta["chroma_gain"]
    sidecar_path(other).write_text(json.dumps(meta))
    run(other, "other.onnx.json: chroma_gain missing")
    broken = tmp_path / "broken.onnx"  # garbage that its sidecar does describe
    broken.write_bytes(b"not an onnx graph")
    meta = json.loads(sidecar_path(model).read_text())
    import hashlib
    meta["onnx_sha256"] = hashlib.sha256(b"not an onnx graph").hexdigest()
    sidecar_path(broken).write_text(json.dumps(meta))
    run(broken, "broken.onnx: onnxruntime cannot load it")


def test_missing_onnxruntime_says_what_to_install(exported, tmp_path, capsys, monkeypatch):
    _, model = exported
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    out = tmp_path / "o.png"
    _fails([str(_photo(tmp_path / "p.png")), "-o", str(out), "--backend", "onnx", "--model",
            str(model)], capsys, "pip install onnxruntime", out)


def test_export_without_onnx_says_what_to_install(exported, tmp_path, capsys, monkeypatch):
    ckpt, _ = exported
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert export_main(["--ckpt", str(ckpt), "-o", str(tmp_path / "m.onnx")]) == 1
    assert 'pip install "colorgan[export]"' in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_export_command_refuses_to_overwrite_and_names_bad_input(exported, tmp_path, capsys):
    ckpt, _ = exported
    target = tmp_path / "e.onnx"
    assert export_main(["--ckpt", str(ckpt), "-o", str(target), "--no-flip"]) == 0
    assert "flip=False" in capsys.readouterr().out
    assert json.loads(sidecar_path(target).read_text())["in_graph"]["flip"] is False
    before = target.read_bytes()
    assert export_main(["--ckpt", str(ckpt), "-o", str(target)]) == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert target.read_bytes() == before
    assert export_main(["--ckpt", str(tmp_path / "no.ckpt"), "-o", str(tmp_path / "n.onnx")]) == 1
    assert "no.ckpt: no such file" in capsys.readouterr().err
    assert export_main(["--ckpt", str(ckpt), "-o", str(tmp_path / "n.bin")]) == 1
    assert "must end in .onnx" in capsys.readouterr().err
    assert not any(p.name.startswith(("n.", ".n.")) for p in tmp_path.iterdir())
