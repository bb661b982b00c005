"""End to end through Hydra: every model config runs, runs resume, bad options fail early."""
import hashlib
import json
import logging
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.errors import MissingConfigException

from colorgan.train import train
from colorgan.utils.config import ConfigError
from tests.conftest import TINY, make_cfg

MODELS = sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "model").glob("*.yaml"))
# each config at the smallest image size its generator accepts, with thin layers
SIZE = {"unet_gan": 256, "unet_mse": 256, "resnet_gan": 32, "unet64_gan": 64, "unet64_mse": 64}


def _thin(cfg):
    """Same architecture (depth, blocks, norms), a few channels wide: seconds on a CPU."""
    g = cfg.model.netG
    if "widths" in g:
        g.widths = [4 * 2 ** min(i, 2) for i in range(len(g.widths))]
    else:
        g.ngf = 4
    if cfg.model.get("netD"):
        cfg.model.netD.ndf = 4
    return cfg


@pytest.mark.parametrize("model", MODELS)
def test_every_model_config_runs_fast_dev_run(tmp_path, model):
    cfg = _thin(make_cfg(tmp_path, [f"model={model}", "debug=fdr", "data.batch_size=2",
                                    "trainer.enable_progress_bar=false",
                                    f"data.image_size={SIZE.get(model, 64)}"]))
    if cfg.model.get("temporal", {}).get("enabled"):
        cfg.data.pairs = True
    metrics, obj = train(cfg)
    assert obj["trainer"].global_step > 0
    assert set(metrics) >= {"val/psnr", "val/ssim", "val/colorfulness", "val/gray_psnr"}


def test_run_folder_holds_config_metrics_checkpoints_and_samples(tmp_path):
    cfg = make_cfg(tmp_path, TINY)
    metrics, _ = train(cfg)
    run = Path(cfg.paths.output_dir)
    saved = json.loads((run / "metrics.json").read_text())
    # reported: the test split; val beside it, as the split that chose (colorgan/protocol.py)
    assert saved["split"] == "test" and saved["model"] == saved["test"]["model"]
    assert saved["model"]["psnr"] == pytest.approx(metrics["test/psnr"])
    assert saved["val"]["model"]["psnr"] == pytest.approx(metrics["val/psnr"])
    assert saved["protocol"] == {
        "checkpoint": "val", "early_stopping": None, "chroma_calibration": None,
        "reported": "test", "in_sample": False, "checkpoint_used": "best",
        "splits": {"train": 16, "val": 8, "test": 8}, "split_seed": 0,
        "split_seed_option": "data.seed", "seed": 42}
    assert saved["evaluated_checkpoint"] == saved["best_checkpoint"]
    assert saved["gray_baseline"]["colorfulness"] < 1.0  # no colour at all
    assert saved["colorfulness_gt"] > 10
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    best = list((run / "checkpoints").glob("epoch_*-select_*.ckpt"))  # best by the rule
    assert [str(p) for p in best] == [saved["best_checkpoint"]]
    assert saved["best_monitor"] == "val/select"  # one epoch: the best is the final weights
    assert saved["selection"]["rule"] == "psnr"  # the default rule: val/select = val/psnr
    assert saved["best_score"] == pytest.approx(metrics["val/psnr"], rel=1e-5)
    assert saved["last_checkpoint"] == str(run / "checkpoints" / "last.ckpt")
    assert list((run / "samples").glob("*.png"))
    assert (run / "curves.png").stat().st_size > 1000  # loss curves picture
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["hyper_parameters"]["netG"]["_target_"].endswith("UNetGenerator")
    assert ckpt["hyper_parameters"]["train_image_size"] == 32


def test_resume_continues_global_step_and_optimizer_state(tmp_path):
    cfg = make_cfg(tmp_path / "a", TINY)
    _, first = train(cfg)
    steps = first["trainer"].global_step
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=False)
    assert saved["global_step"] == steps and len(saved["optimizer_states"]) == 2
    cfg2 = make_cfg(tmp_path / "b", TINY + [f"ckpt_path={last}", "trainer.max_epochs=2"])
    _, second = train(cfg2)
    assert second["trainer"].global_step == 2 * steps
    assert second["trainer"].current_epoch == 2
    card = torch.load(Path(cfg2.paths.output_dir) / "checkpoints" / "last.ckpt",
                      weights_only=True)["model_card"]  # the model card counts on
    assert card["training"]["started_from"] == {"mode": "resume",
                                                "checkpoint": "run/checkpoints/last.ckpt"}
    assert card["training"]["time_s"] > saved["model_card"]["training"]["time_s"]


def test_missing_checkpoint_is_named_before_training(tmp_path):
    cfg = make_cfg(tmp_path, TINY + ["ckpt_path=/nope/last.ckpt"])
    with pytest.raises(ConfigError, match="ckpt_path=/nope/last.ckpt does not exist"):
        train(cfg)
    assert not (tmp_path / "run").exists()  # nothing started


def test_image_size_the_unet_cannot_divide(tmp_path):
    cfg = make_cfg(tmp_path, ["model=unet_gan", "data.image_size=100"])
    with pytest.raises(ConfigError, match=r"data.image_size=100 .* divisible by 256"):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("group,value", [("model", "unet_9000"), ("data", "imagenet_xl")])
def test_unknown_config_names_the_group_and_value(tmp_path, group, value):
    with pytest.raises(MissingConfigException, match=f"{group}/{value}"):
        make_cfg(tmp_path, [f"{group}={value}"])


def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path, monkeypatch):
    from colorgan.models import losses

    cfg = make_cfg(tmp_path / "a", TINY)
    train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    digest = hashlib.sha256(last.read_bytes()).hexdigest()
    cfg2 = make_cfg(tmp_path / "a", TINY + [f"ckpt_path={last}", "trainer.max_epochs=3"])
    # a loss that turns NaN (model.lambda_rec=nan is now refused when the config is composed)
    monkeypatch.setitem(losses.REC_LOSSES, "mse", lambda a, b: (a - b).pow(2).mean() * torch.nan)
    with pytest.raises(FloatingPointError, match="Non-finite loss at global step"):
        train(cfg2)
    assert hashlib.sha256(last.read_bytes()).hexdigest() == digest


class CrashAtEpoch(pl.Callback):
    """Stands in for a crash (killed job, lost node) at the start of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("simulated crash")


def test_crash_resumes_from_the_last_epoch_not_the_best(tmp_path):
    # a monitored metric that cannot improve after epoch 0: the best checkpoint stays at epoch 0
    crash = "+callbacks.crash={_target_:tests.test_train.CrashAtEpoch,epoch:2}"
    cfg = make_cfg(tmp_path / "a", TINY + ["trainer.max_epochs=3", crash,
                                           "callbacks.model_checkpoint.monitor=val/colorfulness_gt"])
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    per_epoch = 16 // 4 * 2  # 4 batches, 2 optimizer steps each
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 2 * per_epoch
    cfg2 = make_cfg(tmp_path / "b", TINY + [f"ckpt_path={last}", "trainer.max_epochs=3"])
    _, resumed = train(cfg2)
    assert resumed["trainer"].global_step == 3 * per_epoch


def test_last_checkpoint_every_n_batches(tmp_path, monkeypatch, caplog):
    saved = []
    original = pl.Trainer.save_checkpoint

    def spy(self, filepath, *args, **kwargs):
        if Path(filepath).name == "last.ckpt":
            saved.append(self.fit_loop.epoch_loop._batches_that_stepped)
        return original(self, filepath, *args, **kwargs)

    monkeypatch.setattr(pl.Trainer, "save_checkpoint", spy)
    cfg = make_cfg(tmp_path, TINY + ["trainer.max_epochs=2",
                                     "callbacks.last_checkpoint.every_n_batches=3"])
    with caplog.at_level(logging.INFO, logger="pytorch_lightning"):
        train(cfg)
    # the full (resumable) state is asked for, so Lightning logs no default per save
    assert "weights_only" not in caplog.text
    # batches 3 and 6 (counted before the batch is), the end of epochs 0 and 1
    assert saved == [2, 4, 5, 8]
    from colorgan.callbacks import LastCheckpoint
    with pytest.raises(ValueError, match="every_n_batches=-1 must be >= 0"):
        LastCheckpoint(tmp_path, every_n_batches=-1)


def test_sample_images_share_the_step_of_the_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = make_cfg(tmp_path, TINY + ["logger=tensorboard", "trainer.max_epochs=2",
                                     "callbacks.model_checkpoint=null",
                                     "callbacks.last_checkpoint=null"])
    train(cfg)
    image_steps, scalar_steps = [], []
    for f in sorted((tmp_path / "run").rglob("events.out.tfevents.*")):
        events = EventAccumulator(str(f), size_guidance={"images": 0}).Reload()
        tags = events.Tags()
        image_steps += [e.step for e in events.Images("val/samples")] if "val/samples" in tags[
            "images"] else []
        scalar_steps += [e.step for e in events.Scalars("val/psnr")] if "val/psnr" in tags[
            "scalars"] else []
    # 4 batches per epoch: the last one's index, then the final validation after fit
    assert image_steps == scalar_steps == [3, 7, 8]
    names = sorted(p.name for p in (tmp_path / "run" / "samples").glob("*.png"))
    assert names == ["epoch_000_step_000003.png", "epoch_001_step_000007.png",
                     "epoch_002_step_000008.png"]
