"""The quality study's experiment configs compose and train on any folder of photos."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import make_cfg
from PIL import Image

from colorgan.train import train

FAST = ["+trainer.fast_dev_run=true", "data.batch_size=4", "data.num_workers=0",
        "trainer.enable_progress_bar=false", "callbacks.model_summary=null",
        "model.classification.prior_images=8", "model.classification.cache_dir=null"]


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("buildings", "forest"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(6):
            arr = rng.integers(0, 255, (80, 96, 3)).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / "photos" / cls / f"{i}.jpg")
    return tmp_path / "photos"


@pytest.mark.parametrize("name", ["scenes64_pix2pix", "scenes64_best"])
def test_quality_experiments_train_on_a_folder(name, photos, tmp_path):
    cfg = make_cfg(tmp_path, [f"experiment={name}", f"data.root={photos}", *FAST])
    assert cfg.data.image_size == 64 and cfg.data.batch_size == 4
    assert cfg.model.netG.widths[0] == 32  # the same U-Net 64 in both
    assert cfg.model.classification.enabled == (name == "scenes64_best")
    assert cfg.model.adversarial == (name == "scenes64_pix2pix")
    assert cfg.model.ema.enabled == (name == "scenes64_best")
    train(cfg)
