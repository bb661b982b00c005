"""Inference with torch alone: a checkpoint loads and colorizes without Lightning, Hydra,
W&B or matplotlib; the Hydra-free netG builder matches Hydra's; imports point down."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate as hydra_instantiate
from omegaconf import OmegaConf
from test_video_helpers import ckpt  # noqa: F401

from colorgan.models.build import build_generator
from colorgan.utils.targets import ConfigError, instantiate

ROOT = Path(__file__).resolve().parents[1]
HEAVY = "{'pytorch_lightning', 'lightning', 'hydra', 'omegaconf', 'matplotlib', 'wandb'}"
NETGS = sorted((ROOT / "conf/model/netG").glob("*.yaml"))
SMALL = {"unet_timm": {"encoder": "resnet18"}, "resnet_9": {"ngf": 8}, "resnet_6": {"ngf": 8}}


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT),
                                                       "PATH": "/usr/bin:/bin"})


def test_checkpoint_loads_and_colorizes_with_torch_alone(ckpt):  # noqa: F811
    r = _run("import sys, torch\n"
             "from colorgan.colorize.colorizer import Colorizer\n"
             f"c = Colorizer.from_checkpoint({str(ckpt)!r}, device='cpu')\n"
             "out = c.colorize(torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8))\n"
             "assert out.shape[-2:] == (64, 64), out.shape\n"
             f"print(sorted({HEAVY} & set(sys.modules)))")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_colorize_help_imports_no_training_stack():
    r = _run("import sys\nfrom colorgan.cli import main\nsys.argv = ['colorgan', 'colorize', "
             "'--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print(sorted({HEAVY} & set(sys.modules)))")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("path", NETGS, ids=[p.stem for p in NETGS])
def test_light_instantiate_builds_what_hydra_builds(path):
    cfg = OmegaConf.merge(OmegaConf.load(path), SMALL.get(path.stem, {}))
    torch.manual_seed(0)
    ours = build_generator(cfg, "lab", None)
    torch.manual_seed(0)
    theirs = hydra_instantiate(cfg, in_channels=1, out_channels=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(a, b), k
    size = getattr(ours, "size_multiple", 32) * 2
    x = torch.rand(1, 1, size, size)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_instantiate_nested_and_partial():
    opt = instantiate({"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1})
    p = torch.nn.Parameter(torch.zeros(1))
    assert opt([p]).defaults["lr"] == 0.1
    seq = instantiate({"_target_": "torch.nn.Sequential",
                       "_args_": [{"_target_": "torch.nn.Identity"}]})
    assert isinstance(seq[0], torch.nn.Identity)
    with pytest.raises(ConfigError, match="no importable module"):
        instantiate({"_target_": "nosuchmodule_xyz.Thing"})


LOWER = [ROOT / "colorgan/scenes.py", ROOT / "colorgan/color.py",
         *(p for d in ("data", "models", "video") for p in (ROOT / "colorgan" / d).rglob("*.py"))]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", LOWER, ids=[str(p.relative_to(ROOT)) for p in LOWER])
def test_lower_layers_do_not_import_colorize_or_app(path):
    bad = {n for n in _imports(path)
           if n.split(".")[:2] in (["colorgan", "colorize"], ["colorgan", "app"])}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)} (imports point down)"
