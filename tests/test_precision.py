"""Mixed precision under manual optimization: clipping sees unscaled gradients (16-mixed with a
GradScaler in the loop), bf16-mixed trains like 32-true, the deferred finite-loss check."""
from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from conftest import OPT
from pytorch_lightning.plugins.precision import MixedPrecision

from colorgan.color import ColorSpace
from colorgan.data.synthetic import SyntheticDataModule
from colorgan.metrics import ColorMetrics
from colorgan.models.gan_module import ColorizationGAN
from colorgan.train import train
from colorgan.utils.perf import FiniteGuard
from tests.conftest import TINY, make_cfg

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
D = {"_target_": "colorgan.models.discriminators.NLayerDiscriminator", "ndf": 8, "n_layers": 2}


class NormAtStep(pl.Callback):
    """Total gradient norm of each optimizer's parameters right before ``step`` runs."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_train_start(self, trainer, pl_module) -> None:
        for opt in trainer.optimizers:
            opt.register_step_pre_hook(self._record)

    def _record(self, opt, args, kwargs) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g.float()) for g in grads]))))


def test_grad_clip_with_16_mixed_clips_unscaled_gradients() -> None:
    """fp16 autocast + GradScaler (scale 2**16) on the CPU: the norm reaching the optimizer is
    the clip value in true units, not clip / 65,536 (the clip-before-unscale bug)."""
    torch.manual_seed(0)
    model = ColorizationGAN(netG=G, netD=D, grad_clip=1.0, **OPT)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
    rec = NormAtStep()
    trainer = pl.Trainer(max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         plugins=[MixedPrecision("16-mixed", "cpu", scaler)], callbacks=[rec])
    trainer.fit(model, SyntheticDataModule(image_size=32, batch_size=4, num_train=16, num_val=4))
    assert rec.norms, "no optimizer step ran (the scaler skipped every step)"
    assert max(rec.norms) <= 1.0 + 1e-3  # clipped ...
    assert max(rec.norms) > 0.05  # ... in true units (scaled clipping leaves <= 1.5e-5)


def test_bf16_mixed_matches_32_true_val_psnr(tmp_path) -> None:
    """Same seed, same 8 steps, final validation PSNR within 0.5 dB; the gray baseline, which
    involves no network, measures the same in both (colour and metrics run in float32)."""
    psnr, runs = {}, {}
    for precision in ("32-true", "bf16-mixed"):
        cfg = make_cfg(tmp_path / precision, [*TINY, f"trainer.precision={precision}",
                                              "callbacks.model_checkpoint=null",
                                              "callbacks.sample_grid=null", "logger=[]",
                                              "+trainer.num_sanity_val_steps=0"])
        metrics, _ = train(cfg)
        psnr[precision], runs[precision] = metrics["val/psnr"], metrics
    assert 5 < psnr["32-true"] < 60
    assert psnr["bf16-mixed"] == pytest.approx(psnr["32-true"], abs=0.5), psnr
    for key in ("val/gray_psnr", "val/gray_ssim", "val/gray_colorfulness", "val/colorfulness_gt"):
        assert runs["bf16-mixed"][key] == pytest.approx(runs["32-true"][key], rel=1e-5, abs=1e-4), key


@pytest.mark.parametrize("mode", ["lab", "rgb"])
def test_colour_and_metrics_run_in_float32_under_bf16_autocast(mode) -> None:
    """Autocast would put kornia's colour matrices and SSIM's filter in bfloat16 (a Lab round
    trip off by 0.14, a gray image colourful): inside it, the numbers are those outside it."""
    torch.manual_seed(0)
    rgb = torch.rand(4, 3, 24, 24)
    cs = ColorSpace(mode)

    def measure():
        real_A, real_B = cs.encode(rgb)
        fake = cs.decode(real_A, real_B)
        metrics = ColorMetrics("val/")
        metrics.update(fake, cs.gray_rgb(real_A), rgb)
        return real_A, fake, {k: float(v) for k, v in metrics.compute().items()}

    A32, fake32, ref = measure()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        A16, fake16, got = measure()
    assert A16.dtype == fake16.dtype == torch.float32
    assert (fake16 - rgb).abs().max() < 1e-3  # the round trip is exact to float32
    assert torch.equal(A16, A32)
    assert got["val/gray_colorfulness"] < 0.05  # gray stays gray
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-5), key


def test_finite_guard_reads_back_once_and_names_the_first_bad_step() -> None:
    guard = FiniteGuard()
    guard.update(3, {"loss_D": torch.tensor(0.5)})
    guard.update(4, {"loss_D": torch.tensor(float("nan"))})
    guard.update(5, {"loss_D": torch.tensor(float("inf"))})
    guard.update(5, {"loss_G": torch.tensor(1.0)})
    with pytest.raises(FloatingPointError, match=r"global step 4 \(epoch 2\).*loss_D.*nan.*grad_clip"):
        guard.check(epoch=2)
    guard.check(epoch=2)  # state was consumed: nothing left to report
    guard.update(6, {"loss_G": torch.tensor(2.0)})
    guard.check(epoch=2)
