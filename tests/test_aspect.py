"""Wide training batches (data.aspect_crops): the shapes colorize feeds 16:9 films."""
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.colorize.colorizer import Colorizer
from colorgan.data.aspect import AspectCrops, keep_aspect_size
from colorgan.data.folder import FolderDataModule
from colorgan.data.images import BadInputWarning
from colorgan.data.synthetic import SyntheticDataModule
from colorgan.models import gan_module as gm
from colorgan.train import train
from tests.conftest import TINY, make_cfg


class _Trainer:
    def __init__(self, training: bool) -> None:
        self.training = training


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def test_wide_shape_is_what_colorize_feeds_a_16_9_frame():
    c = Colorizer.__new__(Colorizer)  # only the sizing attributes are needed
    c.image_size, c.size_multiple, c.resize = 64, 64, "keep"
    crops = AspectCrops(p=1.0, ratio=1280 / 720)
    assert crops.shape(64, 64) == c.net_size(720, 1280) == (64, 128)
    assert crops.shape(32, 16) == (32, 64)
    assert AspectCrops(p=1.0, ratio=0.5).shape(64, 64) == (128, 64)  # portrait
    assert keep_aspect_size(480, 640, 64, 64) == (64, 64)  # 4:3 rounds to the square
    assert crops.load_size(64, 64) == 128 and AspectCrops().load_size(64, 64) == 64


def test_wide_batch_is_a_full_width_window_resized_not_a_squash():
    rows = torch.arange(128.0).view(1, 1, 128, 1).expand(4, 3, 128, 128) / 127  # value = row
    out = AspectCrops(p=1.0)(rows, short=64, multiple=64)
    assert out.shape == (4, 3, 64, 128)
    for img in out:  # each image: rows of one 72-row window, not the whole 128-row image
        span = (img[0, :, 0].max() - img[0, :, 0].min()) * 127
        assert 68 < span < 72
    cols = rows.transpose(-1, -2)  # value = column: the window keeps the full width
    out = AspectCrops(p=1.0)(cols, short=64, multiple=64)
    assert out[:, 0, 0, 0].max() < 0.02 and out[:, 0, 0, -1].min() > 0.98
    square = AspectCrops(p=0.0)(rows, short=64, multiple=64)
    assert square.shape == (4, 3, 64, 64)  # square batches: the whole image, downscaled
    assert abs(float(square[0, 0, 0, 0]) - 0.0) < 0.02 and float(square[0, 0, -1, 0]) > 0.98


def test_share_of_wide_batches_follows_p():
    torch.manual_seed(0)
    crops, x = AspectCrops(p=0.5), torch.rand(2, 3, 64, 64)
    wide = sum(crops(x, 32, 32).shape[-1] == 64 for _ in range(400))
    assert 160 < wide < 240


@pytest.mark.parametrize("opts, match", [
    ({"p": 1.5}, r"data.aspect_crops.p=1.5 must be a share"),
    ({"p": 0.5, "ratio": 0}, r"data.aspect_crops.ratio=0.0 must be a width/height ratio"),
    ({"p": 0.5, "aspect": 2}, r"data.aspect_crops=.*unknown key.*use p and ratio"),
])
def test_bad_options_name_the_option(opts, match):
    with pytest.raises(ValueError, match=match):
        SyntheticDataModule(aspect_crops=opts)


def test_folder_loads_training_files_wide_and_keeps_validation_square(photos, tmp_path):
    dm = FolderDataModule(root=str(photos), image_size=32, batch_size=4, val_fraction=0.25,
                          cache_dir=str(tmp_path / "cache"), aspect_crops={"p": 1.0})
    dm.size_multiple = 16
    dm.setup("fit")
    assert dm.data_train[0]["rgb"].shape == (3, 64, 64)  # loaded at the wide width
    assert dm.data_val[0]["rgb"].shape == (3, 32, 32)
    batch = {"rgb": torch.stack([dm.data_train[i]["rgb"] for i in range(4)])}
    dm.trainer = _Trainer(training=True)
    assert dm.on_after_batch_transfer(batch, 0)["rgb"].shape == (4, 3, 32, 64)
    val = {"rgb": torch.stack([dm.data_val[i]["rgb"] for i in range(2)])}
    dm.trainer = _Trainer(training=False)
    assert dm.on_after_batch_transfer(val, 0)["rgb"].shape == (2, 3, 32, 32)


def test_frame_pairs_get_the_same_window():
    dm = SyntheticDataModule(image_size=16, aspect_crops={"p": 1.0}, augment={"enabled": False})
    rgb = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    dm.trainer = _Trainer(training=True)
    out = dm.on_after_batch_transfer({"rgb": rgb, "prev_rgb": rgb.clone()}, 0)
    assert out["rgb"].shape == (4, 3, 16, 28)  # multiple 1: 16 x round(16 * 1.778)
    assert torch.equal(out["rgb"], out["prev_rgb"])


@pytest.mark.parametrize("model", ["pix2pix", "classification", "pix2pix+random crops"])
def test_training_runs_on_wide_batches(photos, tmp_path, model):
    extra = {"pix2pix": [], "classification": ["model.classification.enabled=true",
                                               "model.lambda_rec=0"],
             "pix2pix+random crops": ["data.augment.crop_scale=[0.5,1.0]"]}[model]
    cfg = make_cfg(tmp_path, [*[o for o in TINY if not o.startswith("data")], "data=folder",
                              f"data.root={photos}", "data.image_size=32", "data.batch_size=4",
                              "data.val_fraction=0.25", "data.aspect_crops.p=1.0", "debug=fdr",
                              *extra])
    seen = []
    real_step = gm.ColorizationGAN.training_step

    def spy(self, batch, batch_idx):
        seen.append(tuple(batch["rgb"].shape[-2:]))
        return real_step(self, batch, batch_idx)

    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore", BadInputWarning)
        mp.setattr(gm.ColorizationGAN, "training_step", spy)
        metrics, objects = train(cfg)
    multiple = objects["model"].netG.size_multiple
    assert seen and set(seen) == {keep_aspect_size(1, 1.778, 32, multiple)}
    assert seen[0][1] > seen[0][0]  # wide
    assert np.isfinite(metrics["val/psnr"])  # validation on square images
