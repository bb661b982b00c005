"""DDP: a real 2-process CPU (gloo) run of train.py, ranks in sync, one complete run folder."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY, make_cfg, run_bounded

from colorgan.eval import evaluate
from colorgan.models.ddp import GANDDPStrategy, check_same, params_digest

ROOT = Path(__file__).resolve().parents[1]


def test_ddp_sim_trains_on_two_ranks_in_sync(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "train.py"), "trainer=ddp_sim", *TINY, "model.netD.ndf=8",
           "data.num_train=16", "+trainer.num_sanity_val_steps=0",
           "+callbacks.ranks_in_sync._target_=colorgan.models.ddp.RanksInSync",
           f"paths.log_dir={tmp_path / 'logs'}", f"hydra.run.dir={run}"]
    proc = run_bounded(cmd, tmp_path, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    # 16 images / (batch 4 x 2 ranks) = 2 batches, each a D and a G step
    assert "Weights identical on 2 ranks after step 4" in out, out[-4000:]
    assert out.count("Final scores of") == 1  # the console table, from rank 0 only
    for name in ("config.yaml", "metrics.json", "curves.png", "checkpoints/last.ckpt",
                 "csv/metrics.csv"):
        assert (run / name).is_file(), name
    assert list((run / "samples").glob("epoch_000_*.png"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["global_step"] == 4
    assert 5 < metrics["model"]["psnr"] < 60 and 5 < metrics["gray_baseline"]["psnr"] < 60
    # reduced over both ranks' shards (4 + 4 images): one process on all 8 gives the same numbers
    one, _ = evaluate(make_cfg(tmp_path / "ev", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}",
                                                 "split=val", "data.batch_size=4", "data.num_val=8",
                                                 "trainer.enable_progress_bar=false"],
                               config_name="eval.yaml"))
    assert one["num_images"] == 8
    for key in ("val/psnr", "val/ssim", "val/gray_psnr", "val/ciede2000", "val/colorfulness_gt"):
        assert metrics["metrics"][key] == pytest.approx(one["metrics"][key], rel=1e-5), key
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    keys = list(state["state_dict"])  # same keys as one-process training (wrappers unregistered)
    assert keys and all(k.startswith(("netG.", "netD.")) and ".module." not in k for k in keys)


def test_ddp_sim_with_recipe_switches_stays_in_sync(tmp_path: Path) -> None:
    """Colour classification (its prior), the EMA generator and R1 under gan_ddp: every weight,
    the EMA copy included, is identical on both ranks."""
    run = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "train.py"), "trainer=ddp_sim", *TINY, "model.netD.ndf=8",
           "data.num_train=16", "+trainer.num_sanity_val_steps=0",
           "model.classification.enabled=true", "model.classification.cache_dir=null",
           "model.classification.prior_images=8", "model.ema.enabled=true", "model.r1_gamma=1",
           "+callbacks.ranks_in_sync._target_=colorgan.models.ddp.RanksInSync",
           "callbacks.sample_grid=null", f"paths.log_dir={tmp_path / 'logs'}",
           f"hydra.run.dir={run}"]
    proc = run_bounded(cmd, tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Weights identical on 2 ranks after step 4" in proc.stdout, proc.stdout[-4000:]
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert any(k.startswith("netG_ema.module.") for k in state["state_dict"])
    assert state["state_dict"]["color_prior"].sum() == pytest.approx(1.0, abs=1e-4)


def test_rank_check_names_the_ranks_that_differ() -> None:
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    check_same([params_digest(a), params_digest(a)])
    with pytest.raises(RuntimeError, match=r"rank 0: .*rank 1: .*gan_ddp"):
        check_same([params_digest(a), params_digest(b)])


def test_ddp_configs(tmp_path: Path) -> None:
    import colorgan.utils.launch  # noqa: F401  (registers ${cuda_accelerator:})

    sim = make_cfg(tmp_path, ["trainer=ddp_sim"]).trainer
    assert sim.strategy._target_.endswith("GANDDPStrategy")
    assert sim.strategy.process_group_backend == "gloo" and sim.accelerator == "cpu"
    assert sim.devices == 2 and sim.sync_batchnorm is False  # SyncBatchNorm needs CUDA
    gpu = make_cfg(tmp_path, ["trainer=ddp"]).trainer
    assert gpu.strategy.process_group_backend == "nccl" and gpu.sync_batchnorm is True
    assert gpu.accelerator == "gpu" and gpu.benchmark is True and "num_nodes" in gpu
    on_cpu = make_cfg(tmp_path, ["trainer=ddp", "trainer.accelerator=cpu"]).trainer
    assert on_cpu.sync_batchnorm is False  # SyncBatchNorm only where CUDA runs it
    strategy = GANDDPStrategy(process_group_backend="gloo")
    assert strategy.process_group_backend == "gloo"
