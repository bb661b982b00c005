"""The shared DataModule design: device-side augmentation and option checks."""
import pytest
import torch

from colorgan.data.synthetic import SyntheticDataModule, SyntheticScenes


class _Trainer:
    def __init__(self, training: bool) -> None:
        self.training = training


def _batch(pairs: bool = False) -> dict:
    rgb = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    batch = {"rgb": rgb}
    if pairs:
        batch["prev_rgb"] = rgb.clone()
    return batch


def test_augmentation_only_in_training_and_identical_for_frame_pairs():
    dm = SyntheticDataModule(image_size=16, augment={"hflip": True, "vflip": True, "p": 1.0})
    batch = _batch(pairs=True)
    dm.trainer = _Trainer(training=False)
    out = dm.on_after_batch_transfer(batch, 0)
    assert out["rgb"].dtype == torch.float32 and out["rgb"].max() <= 1
    assert torch.equal(out["rgb"], batch["rgb"].float() / 255)  # val/test: untouched
    dm.trainer = _Trainer(training=True)
    out = dm.on_after_batch_transfer(batch, 0)
    expected = batch["rgb"].float().div(255).flip(-1).flip(-2)  # both flips with p=1
    assert torch.allclose(out["rgb"], expected)
    assert torch.equal(out["rgb"], out["prev_rgb"])  # one draw for both frames


def test_bad_data_options_name_the_option():
    with pytest.raises(ValueError, match="data.image_size=0"):
        SyntheticDataModule(image_size=0)
    with pytest.raises(ValueError, match="data.batch_size=-1"):
        SyntheticDataModule(batch_size=-1)
    with pytest.raises(ValueError, match="data.augment=.*unknown key"):
        SyntheticDataModule(augment={"hflip": True, "mirror": True})
    with pytest.raises(ValueError, match="data.num_train/num_val must be positive"):
        SyntheticScenes(0, 16)


def test_random_crops_are_windows_of_the_set_area_resized_to_image_size():
    torch.manual_seed(0)
    dm = SyntheticDataModule(image_size=16, augment={"hflip": False, "crop_scale": [0.25, 0.25]})
    assert dm.train_load_size == 32  # the smallest crop (16 px of 32) is not upscaled
    cols = (torch.arange(32) * 8).view(1, 1, 1, 32).expand(8, 3, 32, 32).to(torch.uint8)
    dm.trainer = _Trainer(training=True)
    out = dm.on_after_batch_transfer({"rgb": cols, "prev_rgb": cols.clone()}, 0)
    assert out["rgb"].shape == (8, 3, 16, 16)
    span = out["rgb"][:, 0, 8, :].amax(-1) - out["rgb"][:, 0, 8, :].amin(-1)  # share of width
    full = 31 * 8 / 255
    assert ((span > 0.38 * full) & (span < 0.62 * full)).all()  # sqrt(0.25 * [3/4, 4/3])
    assert len({round(float(v), 3) for v in out["rgb"][:, 0, 8, 0]}) > 1  # each its own window
    assert torch.equal(out["rgb"], out["prev_rgb"])  # frame pairs: one window for both
    dm.trainer = _Trainer(training=False)
    assert torch.equal(dm.on_after_batch_transfer({"rgb": cols}, 0)["rgb"], cols / 255)
    assert SyntheticDataModule(image_size=16).train_load_size == 16  # off by default


def test_training_view_is_what_training_batches_get_without_a_trainer():
    """dm.training_view: the crops, flips and training size of on_after_batch_transfer, for
    tools that look at training photos outside fit (experiments/quality/photo_gain.py)."""
    dm = SyntheticDataModule(image_size=16, augment={"hflip": True, "p": 1.0,
                                                     "crop_scale": [0.25, 0.25]})
    cols = (torch.arange(32) * 8).view(1, 1, 1, 32).expand(4, 3, 32, 32).to(torch.uint8)
    torch.manual_seed(0)
    view = dm.training_view(cols.float() / 255)
    dm.trainer = _Trainer(training=True)
    torch.manual_seed(0)
    assert torch.equal(view, dm.on_after_batch_transfer({"rgb": cols}, 0)["rgb"])
    assert view.shape == (4, 3, 16, 16)
    assert (view[:, 0, 8, 0] > view[:, 0, 8, -1]).all()  # flipped: the bright columns first


@pytest.mark.parametrize("value", [[0, 1], [0.6, 0.4], [0.5, 1.5], 0.5, "wide", [0.1, 0.2, 0.3]])
def test_bad_crop_scale_names_the_option(value):
    with pytest.raises(ValueError, match=r"data.augment.crop_scale=.* 0 < min <= max <= 1"):
        SyntheticDataModule(augment={"crop_scale": value})


def test_synthetic_scenes_are_deterministic_by_seed():
    a, b = SyntheticScenes(4, 32, seed=3), SyntheticScenes(4, 32, seed=3)
    assert torch.equal(a[2]["rgb"], b[2]["rgb"])
    assert not torch.equal(a[2]["rgb"], SyntheticScenes(4, 32, seed=4)[2]["rgb"])
