"""data=cifar10 on the real CIFAR-10 JPEG folder copy in ../shared/data (a small subset)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
import torchvision.datasets

from colorgan.data.cifar10 import ArrayImages, CIFAR10DataModule
from colorgan.data.images import BadInputWarning
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
    dm = _dm(tmp_path, cifar_copy, "data.skip_gray=false")
    dm.setup("fit")
    assert dm.classes == CLASSES
    assert (len(dm.data_train), len(dm.data_val), len(dm.data_test)) == (180, 20, 50)
    colour = _dm(tmp_path, cifar_copy)  # default: the black-and-white images are left out
    with pytest.warns(BadInputWarning, match="black-and-white"):
        colour.setup("fit")
    left_out = {p for p, _ in colour.skipped}
    assert left_out and len(colour.data_train) + len(colour.data_val) + len(colour.data_test) \
        == 250 - len(left_out)
    assert set(colour.data_train.files) == set(dm.data_train.files) - left_out
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


class FakeCIFAR10:
    """torchvision.datasets.CIFAR10 without network: ``present`` says whether it is on disk."""

    present, calls = True, []

    def __init__(self, root, train, download):
        FakeCIFAR10.calls.append(download)
        if not self.present:
            if not download:
                raise RuntimeError("Dataset not found or corrupted.")
            raise OSError("[Errno 101] Network is unreachable")
        n = 20 if train else 10
        self.data = np.random.default_rng(n).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.targets, self.classes = [i % 10 for i in range(n)], CLASSES

    def __len__(self):
        return len(self.data)


@pytest.mark.parametrize("present", [True, False])
def test_torchvision_source_reuses_copy_and_reports_failed_download(tmp_path, monkeypatch,
                                                                   present):
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    monkeypatch.setattr(FakeCIFAR10, "present", present)
    monkeypatch.setattr(FakeCIFAR10, "calls", [])
    dm = _dm(tmp_path, tmp_path / "tv", "data.download=true", "data.image_size=16")
    if not present:
        with pytest.raises(FileNotFoundError, match=r"Could not download CIFAR-10.*network"):
            dm.setup("fit")
        return
    dm.setup("fit")
    assert FakeCIFAR10.calls == [False, False]  # on disk: never downloaded again
    assert (len(dm.data_train), len(dm.data_val), len(dm.data_test)) == (18, 2, 10)
    assert dm.data_train[0]["rgb"].shape == (3, 16, 16) and dm.classes == CLASSES


def test_class_labels_false_gives_no_labels(tmp_path, cifar_copy, monkeypatch):
    dm = _dm(tmp_path, cifar_copy, "data.class_labels=false")
    dm.setup("fit")
    assert dm.classes is None and "label" not in dm.data_train[0]
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    monkeypatch.setattr(FakeCIFAR10, "present", True)
    tv = _dm(tmp_path, tmp_path / "tv", "data.class_labels=false", "data.image_size=16",
             "data.download=true")
    tv.setup("fit")
    assert tv.classes is None and "label" not in tv.data_train[0]
    labelled = _dm(tmp_path, tmp_path / "tv2", "data.image_size=16", "data.download=true")
    labelled.setup("fit")
    assert labelled.data_train[0]["label"] in range(10)
