"""The fast GPU path's switches: auto means CUDA only, explicit settings win, clear fallbacks."""
from __future__ import annotations

import functools
import logging

import pytorch_lightning as pl
import torch
from conftest import OPT

from colorgan.data.synthetic import SyntheticDataModule
from colorgan.models.gan_module import ColorizationGAN
from colorgan.utils import perf

G = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
D = {"_target_": "colorgan.models.discriminators.NLayerDiscriminator", "ndf": 8, "n_layers": 2}


def test_auto_switches_are_on_for_cuda_only() -> None:
    assert perf.resolve(None, "cuda:0") and not perf.resolve(None, "cpu")
    assert perf.resolve(True, "cpu") and not perf.resolve(False, "cuda")


def test_channels_last_trains_and_compile_off_stays_eager() -> None:
    model = ColorizationGAN(netG=G, netD=D, channels_last=True, compile=False, **OPT)
    trainer = pl.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0)
    trainer.fit(model, SyntheticDataModule(image_size=32, batch_size=4, num_train=8, num_val=4))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert model.netG._compiled_call_impl is None  # compile=false: eager


def test_compile_falls_back_to_eager_with_a_message(caplog, monkeypatch) -> None:
    net = torch.nn.Conv2d(1, 1, 3)

    def broken(self, *a, **k):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(torch.nn.Module, "compile", broken)
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        assert perf.compile_nets(net) is False
    assert "model.compile=true but torch.compile is unavailable" in caplog.text
    assert "no C++ compiler" in caplog.text and "model.compile=false" in caplog.text
    assert net(torch.zeros(1, 1, 4, 4)).shape == (1, 1, 2, 2)  # still trains eagerly


def test_fused_adam_only_on_cuda_without_a_scaler_unless_chosen() -> None:
    params = list(torch.nn.Linear(2, 2).parameters())
    adam = functools.partial(torch.optim.Adam, lr=1e-3)
    assert perf.fused_kwargs(adam, params, has_scaler=False) == {}  # CPU parameters
    cuda_like = [torch.nn.Parameter(torch.zeros(1))]
    cuda_like[0].__class__ = type("P", (torch.nn.Parameter,), {"is_cuda": property(lambda s: True)})
    assert perf.fused_kwargs(adam, cuda_like, has_scaler=False) == {"fused": True}
    assert perf.fused_kwargs(adam, cuda_like, has_scaler=True) == {}  # 16-mixed: Lightning unscales
    assert perf.fused_kwargs(functools.partial(torch.optim.Adam, fused=False), cuda_like, False) == {}
    assert perf.fused_kwargs(functools.partial(torch.optim.SGD, lr=1.0), cuda_like, False) == {}


def test_default_workers_feed_a_gpu(monkeypatch) -> None:
    assert 1 <= perf.default_workers() <= 2  # this CPU-only machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert 1 <= perf.default_workers() <= 8
