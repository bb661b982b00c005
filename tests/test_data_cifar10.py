"""data=cifar10 on the real CIFAR-10 JPEG folder copy in ../shared/data (a small subset)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import hydra
import pytest
import torch

from colorgan.data.cifar10 import ArrayImages, CIFAR10DataModule
from colorgan.train import train
from tests.conftest import TINY, make_cfg, shared_data

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
PER_CLASS = {"train": 20, "test": 5}


@pytest.fixture(scope="session")
def cifar_copy(tmp_path_factory) -> Path:
    """The first 20 train / 5 test images of every class, unzipped once per session."""
    zpath = shared_data("cifar10-images.zip")
    out = tmp_path_factory.mktemp("cifar10")
    with zipfile.ZipFile(zpath) as z:
        for name in z.namelist():
            parts = Path(name).parts  # CIFAR-10-images/<split>/<class>/NNNN.jpg
            if len(parts) == 4 and int(Path(parts[3]).stem) < PER_CLASS[parts[1]]:
                z.extract(name, out)
    return out / "CIFAR-10-images"


def _dm(tmp_path, root, *extra) -> CIFAR10DataModule:
    cfg = make_cfg(tmp_path, ["data=cifar10", f"data.root={root}", "data.num_workers=0", *extra])
    return hydra.utils.instantiate(cfg.data)


def test_folder_copy_split_sizes_classes_and_disjoint(tmp_path, cifar_copy):
    dm = _dm(tmp_path, cifar_copy)
    dm.setup("fit")
    assert dm.classes == CLASSES
    assert (len(dm.data_train), len(dm.data_val), len(dm.data_test)) == (180, 20, 50)
    assert not set(dm.data_train.files) & set(dm.data_val.files)
    assert all(f.parts[-3] == "test" for f in dm.data_test.files)
    assert {dm.classes[y] for y in dm.data_train.labels} == set(CLASSES)
    sample = dm.data_train[0]["rgb"]
    assert sample.dtype == torch.uint8 and sample.shape == (3, 32, 32)


def test_caps_and_fixed_split_seed(tmp_path, cifar_copy):
    dm = _dm(tmp_path, cifar_copy, "data.max_train=50", "data.max_val=7", "data.max_test=9")
    dm.setup("fit")
    assert (len(dm.data_train), len(dm.data_val), len(dm.data_test)) == (50, 7, 9)
    again = _dm(tmp_path, cifar_copy, "data.max_train=50")
    again.setup("fit")
    assert again.data_train.files == dm.data_train.files  # same seed, same split
    other = _dm(tmp_path, cifar_copy, "data.max_train=50", "data.split_seed=1")
    other.setup("fit")
    assert other.data_train.files != dm.data_train.files


def test_missing_root_names_option_and_download(tmp_path):
    dm = _dm(tmp_path, tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"data\.root=.*nowhere.*data\.download=true"):
        dm.setup("fit")


def test_torchvision_source_without_batches_says_what_to_do(tmp_path):
    dm = _dm(tmp_path, tmp_path, "data.source=torchvision")
    with pytest.raises(FileNotFoundError, match=r"holds no CIFAR-10.*data\.download=true"):
        dm.setup("fit")


def test_array_images_resize_to_image_size():
    data = torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8).numpy()
    ds = ArrayImages(data, [2, 0], image_size=16, labels=[5, 6, 7])
    assert ds[0]["rgb"].shape == (3, 16, 16) and ds.labels == [7, 5]
    same = ArrayImages(data, [1], image_size=32)
    assert torch.equal(same[0]["rgb"], torch.from_numpy(data[1]).permute(2, 0, 1))


def test_fast_dev_run_on_folder_copy(tmp_path, cifar_copy):
    model_only = [o for o in TINY if not o.startswith("data")]
    cfg = make_cfg(tmp_path, [*model_only, "data=cifar10", f"data.root={cifar_copy}",
                              "data.batch_size=4", "data.max_train=16", "debug=fdr"])
    metrics, objects = train(cfg)
    assert objects["trainer"].global_step >= 1
    assert "val/psnr" in metrics
