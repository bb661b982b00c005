"""Fine-tuning from a checkpoint's weights (``init_from``), the architecture check it shares
with resuming (``ckpt_path``), and the model card every checkpoint carries (``colorgan info``,
``MODEL_CARD.md``)."""
from __future__ import annotations

import errno
import json
import logging
import subprocess
import sys
from pathlib import Path

import hydra
import pytest
import pytorch_lightning as pl
import torch
from conftest import ROOT, TINY, make_cfg
from test_video_helpers import CLASSIFY, ckpt, ckpt_classify, tiny_checkpoint  # noqa: F401

import colorgan.callbacks as cb
import colorgan.train as train_mod
from colorgan import model_card
from colorgan.finetune import check_init_from, load_init_weights
from colorgan.info import NO_CARD, info_main
from colorgan.train import train
from colorgan.utils.config import ConfigError

RESNET = ("model/netG=resnet_6", "model.netG.ngf=4", "model.netD.ndf=8", "data.num_train=4", "data.num_val=4",
          "data.num_test=4")


@pytest.fixture(scope="module")
def resnet_ckpt(tmp_path_factory) -> Path:
    """A tiny trained ResNet-generator checkpoint (another architecture than TINY's U-Net)."""
    return tiny_checkpoint(tmp_path_factory.getbasetemp() / "ckpts_resnet", recipe=RESNET)


def _part(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k].to(a[k].dtype)) for k in a)


class StartSpy(pl.Callback):
    """What the run looks like when training starts."""

    def on_train_start(self, trainer, pl_module):
        self.epoch, self.step = trainer.current_epoch, trainer.global_step
        self.netG = {k: v.clone() for k, v in pl_module.netG.state_dict().items()}
        self.netD = {k: v.clone() for k, v in pl_module.netD.state_dict().items()}
        self.optimizer_state = [len(o.state) for o in trainer.optimizers]


def test_init_from_starts_a_new_run_at_epoch_0_from_the_weights(ckpt, tmp_path, monkeypatch):  # noqa: F811
    spy, make = StartSpy(), train_mod.instantiate_callbacks
    monkeypatch.setattr(train_mod, "instantiate_callbacks", lambda c: [*make(c), spy])
    cfg = make_cfg(tmp_path, [*TINY, f"init_from={ckpt}", "callbacks.sample_grid=null"])
    _, obj = train(cfg)
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert (spy.epoch, spy.step) == (0, 0) and spy.optimizer_state == [0, 0]  # fresh optimizers
    assert _same(spy.netG, _part(saved["state_dict"], "netG."))
    assert _same(spy.netD, _part(saved["state_dict"], "netD."))  # both have one, same shapes
    assert obj["trainer"].global_step == saved["global_step"]  # one epoch of its own, not two
    card = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["model_card"]
    assert card["training"]["started_from"]["mode"] == "init_from"
    short = f"run/checkpoints/{ckpt.name}"  # the run folder's name, not the full path
    assert card["training"]["started_from"]["checkpoint"] == short
    assert card["training"]["started_from"]["base_data"] == "SyntheticDataModule"
    assert f"the weights of {short} (fine-tuned" in (tmp_path / "run" / "MODEL_CARD.md").read_text()


def test_init_from_an_ema_checkpoint_starts_from_its_ema_generator(ckpt_classify, tmp_path):  # noqa: F811
    cfg = make_cfg(tmp_path, [*TINY, *CLASSIFY])
    model = hydra.utils.instantiate(cfg.model, _recursive_=False, train_image_size=32)
    loaded = load_init_weights(model, ckpt_classify, check_init_from(ckpt_classify, dict(model.hparams)))
    state = torch.load(ckpt_classify, map_location="cpu", weights_only=True)["state_dict"]
    ema = _part(state, "netG_ema.module.")
    assert not _same(ema, _part(state, "netG."))  # the two differ: the test can tell them apart
    assert loaded["netG"] == "EMA generator" and _same(model.netG.state_dict(), ema)
    assert _same(model.netG_ema.module.state_dict(), ema) and int(model.netG_ema.n_averaged) == 0


@pytest.mark.parametrize("extra,why", [
    (["model.adversarial=false"], "this run has no discriminator"),
    (["model/netD=pixel"], "its discriminator options differ"),
])
def test_init_from_says_in_one_line_why_netd_is_not_loaded(ckpt, tmp_path, caplog, extra, why):  # noqa: F811
    cfg = make_cfg(tmp_path, [*TINY, *extra])
    model = hydra.utils.instantiate(cfg.model, _recursive_=False, train_image_size=32)
    before = None if model.netD is None else {k: v.clone() for k, v in model.netD.state_dict().items()}
    with caplog.at_level(logging.INFO, logger="colorgan"):
        loaded = load_init_weights(model, ckpt, check_init_from(ckpt, dict(model.hparams)))
    assert "netD" not in loaded and why in loaded["netD_not_loaded"]
    lines = [r.getMessage() for r in caplog.records if "netD not loaded" in r.getMessage()]
    assert len(lines) == 1 and why in lines[0]
    if before is not None:
        assert _same(model.netD.state_dict(), before)  # untouched


def test_init_from_another_generator_names_both_and_writes_nothing(resnet_ckpt, tmp_path):
    cfg = make_cfg(tmp_path, [*TINY, f"init_from={resnet_ckpt}"])
    with pytest.raises(ConfigError) as e:
        train(cfg)
    msg = str(e.value)
    assert f"init_from={resnet_ckpt}" in msg and "model.netG" in msg
    assert "checkpoint's netG=ResnetGenerator(" in msg and "this run's netG=UNetGenerator(" in msg
    assert not (tmp_path / "run").exists()  # nothing written, nothing started


def test_resume_from_another_architecture_is_a_message_before_training(resnet_ckpt, tmp_path,
                                                                        monkeypatch, capsys):
    argv = ["colorgan.train", *TINY, f"ckpt_path={resnet_ckpt}", f"hydra.run.dir={tmp_path}/run",
            f"paths.output_dir={tmp_path}/run"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as e:
        train_mod.main()
    err = capsys.readouterr().err
    assert e.value.code == 1 and "Traceback" not in err and "Missing key" not in err
    assert f"ckpt_path={resnet_ckpt} cannot be resumed" in err
    assert "ResnetGenerator(" in err and "UNetGenerator(" in err
    assert "config.yaml" in err  # where the checkpoint's own options are
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "config.yaml").exists()


def test_init_from_and_ckpt_path_together_are_refused(ckpt, tmp_path):  # noqa: F811
    cfg = make_cfg(tmp_path, [*TINY, f"init_from={ckpt}", f"ckpt_path={ckpt}"])
    with pytest.raises(ConfigError, match="were both given.*Keep one of them"):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_init_from_a_missing_or_truncated_file_names_it(ckpt, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="init_from=/nope/base.ckpt does not exist"):
        train(make_cfg(tmp_path, [*TINY, "init_from=/nope/base.ckpt"]))
    half = tmp_path / "half.ckpt"
    half.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(ConfigError, match=f"init_from={half} is not a complete checkpoint"):
        train(make_cfg(tmp_path, [*TINY, f"init_from={half}"]))
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------- the model card
def test_checkpoint_card_and_model_card_md(ckpt):  # noqa: F811
    run = ckpt.parent.parent
    metrics = json.loads((run / "metrics.json").read_text())
    card = torch.load(ckpt, map_location="cpu", weights_only=True)["model_card"]
    assert card["data"]["target"].endswith("SyntheticDataModule") and card["data"]["image_size"] == 32
    assert card["data"]["splits"] == {"train": 16, "val": 8, "test": 8, "has_test": True,
                                      "seed": 0, "seed_option": "data.seed"}
    val, test = card["metrics"]["val"], card["metrics"]["test"]
    assert val["split"] == "val" and val["images"] == 8 and val["final"] is True
    assert val["values"]["psnr"] == pytest.approx(metrics["val"]["model"]["psnr"])
    # the run's final test of these weights, with its split (metrics.json reports it)
    assert test["split"] == "test" and test["images"] == 8 and test["final"] is True
    assert test["values"]["psnr"] == pytest.approx(metrics["model"]["psnr"])
    assert metrics["split"] == "test" and card["metrics"]["test_note"] is None
    assert card["training"]["time_s"] > 0 and card["training"]["global_step"] == metrics["global_step"]
    assert card["hardware"]["cpu_cores"] >= 1 and card["hardware"]["torch"] == str(torch.__version__)
    best = torch.load(metrics["best_checkpoint"], weights_only=True)["model_card"]
    assert best["metrics"] == card["metrics"]  # one epoch: the best holds the final weights
    text = (run / "MODEL_CARD.md").read_text()
    assert "Trained at 32 px on 16 images" in text and "colour is a guess" in text
    assert "On the **test** split (8 images, measured after fit" in text
    assert "On the **val** split (8 images, measured after fit" in text
    assert "the split that chose the checkpoint" in text
    assert f"| model | {metrics['model']['psnr']:.2f} |" in text  # test
    assert f"| model | {metrics['val']['model']['psnr']:.2f} |" in text
    assert "No test-split score" not in text and card["code"]["version"] in text


def test_final_card_that_cannot_be_written_keeps_the_checkpoint(tmp_path, monkeypatch, caplog):
    def full_disk(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cb, "atomic_output", full_disk)  # only the final rewrite uses it
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        train(make_cfg(tmp_path, [*TINY, "callbacks.sample_grid=null"]))
    assert "could not write the final scores into the model card" in caplog.text
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["model_card"]["metrics"]["val"]["final"] is False  # the card of its save, intact
    assert (tmp_path / "run" / "MODEL_CARD.md").is_file()  # the run's results are all there
    assert not list((tmp_path / "run" / "checkpoints").glob(".*partial*"))


def test_card_keeps_the_data_root_by_name_only(tmp_path):
    d = model_card.data_card({"_target_": "colorgan.data.folder.FolderDataModule",
                              "root": "/home/me/private/My Photos", "cache_dir": "/home/me/c",
                              "split_seed": 3, "seed": 0}, {"train": 9, "val": 1, "test": None})
    assert d["root_name"] == "My Photos" and d["config"]["root"] == "My Photos"
    assert "/home/me" not in json.dumps(d)
    assert d["splits"]["seed"] == 3 and d["splits"]["has_test"] is False
    assert model_card.has_test({"test_is_val": True}) is False  # a card before has_test
    assert model_card.has_test({"test_is_val": False, "test": 5}) is True


def test_code_version_outside_a_git_checkout(monkeypatch):
    monkeypatch.setattr(model_card, "_git", lambda *a, **k: None)
    code = model_card.code_version()
    assert code["commit"] is None and code["dirty"] is None and code["version"]
    if (ROOT / ".git").exists():
        monkeypatch.undo()
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
        assert model_card.code_version()["commit"] == head


def test_colorgan_info_prints_the_card_without_lightning_or_hydra(ckpt):  # noqa: F811
    block = "; ".join(f"sys.modules[{m!r}] = None" for m in
                      ("pytorch_lightning", "lightning", "hydra", "omegaconf"))
    code = f"import sys; {block}; from colorgan.cli import main; sys.exit(main(['info', {str(ckpt)!r}]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for field in ("architecture: netG=UNetGenerator(", "data: colorgan.data.synthetic",
                  "splits: train 16, val 8, test 8 (seed 0, data.seed)",
                  "started from: random weights",
                  "val split (chose the checkpoint: in-sample): PSNR", "final validation",
                  "test split (reported, never used to choose): PSNR", "final test after fit",
                  "commit", "hardware:"):
        assert field in text, field


def test_colorgan_info_on_old_empty_and_truncated_checkpoints(ckpt, tmp_path, capsys):  # noqa: F811
    old = torch.load(ckpt, map_location="cpu", weights_only=True)
    old.pop("model_card")
    torch.save(old, tmp_path / "old.ckpt")
    assert info_main([str(tmp_path / "old.ckpt")]) == 0
    out = capsys.readouterr().out
    assert NO_CARD in out and "netG=UNetGenerator(" in out
    (tmp_path / "empty.ckpt").write_bytes(b"")
    (tmp_path / "half.ckpt").write_bytes(ckpt.read_bytes()[:4000])
    for name, says in (("empty.ckpt", "is empty"), ("half.ckpt", "not a readable checkpoint"),
                       ("missing.ckpt", "no such file")):
        assert info_main([str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert f"{tmp_path / name}" in err and says in err and "Traceback" not in err
    assert info_main([str(ckpt), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["splits"]["train"] == 16
