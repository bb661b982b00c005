"""Image decoding, bad-file handling and the folder / landscapes / places365 datamodules."""
from __future__ import annotations

import io
import warnings

import hydra
import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.data import images
from colorgan.data.images import BadInputWarning, ImageFiles, load_rgb, scan_images
from colorgan.train import train
from tests.conftest import TINY, make_cfg, shared_data

MODEL_ONLY = [o for o in TINY if not o.startswith("data")]


def _save(img: Image.Image, path, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


@pytest.fixture
def messy_folder(tmp_path):
    """12 good images in nested folders, plus zero-byte, non-image, corrupt and truncated ones."""
    root = tmp_path / "messy"
    rng = np.random.default_rng(0)
    for i in range(12):
        arr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        ext = ("jpg", "png", "webp", "bmp", "tiff")[i % 5]
        _save(Image.fromarray(arr), root / f"sub{i % 3}" / "deeper" / f"good{i}.{ext}")
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.png").write_text("this is not an image")
    (root / "corrupt.webp").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(buf, "JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "README.txt").write_text("ignored: not an image extension")
    return root


BAD = {"empty.jpg", "notes.png", "corrupt.webp", "truncated.jpg"}


def test_modes_become_rgb_uint8(tmp_path):
    gray16 = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))  # half of 16-bit range
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 0))  # fully transparent -> white
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 1 = red
    cases = {
        "gray.png": (Image.new("L", (8, 8), 77), (77, 77, 77)),
        "gray16.png": (gray16, (128, 128, 128)),
        "rgba.png": (rgba, (255, 255, 255)),
        "palette.png": (pal, (255, 0, 0)),
        "la.png": (Image.new("LA", (8, 8), (50, 255)), (50, 50, 50)),
        "cmyk.tiff": (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), (255, 0, 0)),
        "cmyk.jpg": (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), (255, 0, 0)),
        "gray.jpg": (Image.new("L", (8, 8), 90), (90, 90, 90)),
    }
    for name, (img, rgb) in cases.items():
        out = load_rgb(_save(img, tmp_path / name), 4)
        assert out.dtype == torch.uint8 and out.shape == (3, 4, 4), name
        assert out[:, 0, 0].tolist() == pytest.approx(list(rgb), abs=1), name


def test_load_rgb_resizes_shorter_side_and_crops_centre(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, 10:30] = 255  # white centre band, black sides
    out = load_rgb(_save(Image.fromarray(arr), tmp_path / "wide.png"), 10)
    assert out.shape == (3, 10, 10) and out.min() > 200  # crop kept only the centre


def test_bad_files_are_named_once_and_skipped(messy_folder, tmp_path):
    cfg = make_cfg(tmp_path, ["data=folder", f"data.root={messy_folder}", "data.image_size=16"])
    dm = hydra.utils.instantiate(cfg.data)
    with pytest.warns(BadInputWarning) as rec:
        dm.setup("fit")
    msgs = [str(w.message) for w in rec if issubclass(w.category, BadInputWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("Skipped 4 unreadable file(s)")
    assert all(name in msgs[0] for name in BAD)
    used = {f.name for f in dm.data_train.files + dm.data_val.files}
    assert len(used) == 12 and not used & BAD
    assert {p.name for p, _ in dm.skipped} == BAD
    batch = next(iter(dm.train_dataloader()))
    assert batch["rgb"].shape[1:] == (3, 16, 16)


def test_scan_is_cached(messy_folder, tmp_path, monkeypatch):
    files = sorted(messy_folder.rglob("*.*"))
    good, bad = scan_images(files, cache_dir=tmp_path / "cache", what="messy")
    monkeypatch.setattr(images, "check_image", lambda p: pytest.fail(f"decoded {p} again"))
    assert scan_images(files, cache_dir=tmp_path / "cache", what="messy") == (good, bad)


def test_no_usable_image_stops_with_clear_error(tmp_path):
    (tmp_path / "only_bad").mkdir()
    (tmp_path / "only_bad" / "a.jpg").write_bytes(b"")
    cfg = make_cfg(tmp_path, ["data=folder", f"data.root={tmp_path / 'only_bad'}"])
    dm = hydra.utils.instantiate(cfg.data)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="no usable training image"):
        warnings.simplefilter("ignore", BadInputWarning)
        dm.setup("fit")


def test_unset_or_missing_root_names_the_option(tmp_path):
    for over in (["data=folder"], ["data=folder", f"data.root={tmp_path / 'nope'}"]):
        dm = hydra.utils.instantiate(make_cfg(tmp_path, over).data)
        with pytest.raises(FileNotFoundError, match=r"data\.root"):
            dm.setup("fit")


def test_file_broken_after_scan_is_reported_not_fatal(messy_folder):
    files = sorted(messy_folder.rglob("good*"))[:3]
    ds = ImageFiles(files, 8)
    files[0].write_bytes(b"broken later")
    with pytest.warns(BadInputWarning, match=files[0].name):
        assert torch.equal(ds[0]["rgb"], ds[1]["rgb"])


@pytest.mark.parametrize("name", ["places365", "places365_2k"])
def test_places365_without_files_says_download(tmp_path, name):
    for root in (tmp_path / "missing", tmp_path):  # absent folder; folder without the devkit
        dm = hydra.utils.instantiate(make_cfg(tmp_path, [f"data={name}", f"data.root={root}"]).data)
        with pytest.raises(FileNotFoundError, match=r"data\.root=.*data\.download=true"):
            dm.setup("fit")


def test_landscapes_layout_on_real_scenes(tmp_path):
    root = shared_data("images/scenes")
    cfg = make_cfg(tmp_path, ["data=landscapes", f"data.root={root}", "data.image_size=32",
                              "data.skip_gray=false"])  # every file (tests/test_skip_gray.py)
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    n = len(list(root.rglob("*.jpg")))
    sizes = (len(dm.data_train), len(dm.data_val), len(dm.data_test))
    assert dm.classes == ["buildings", "forest"]
    assert sum(sizes) == n and sizes == (n - round(n * 0.15) - round(n * 0.05),
                                         round(n * 0.15), round(n * 0.05))  # fractions: < 12,000
    assert not set(dm.data_train.files) & set(dm.data_val.files)
    assert set(dm.data_test.labels) == {0, 1}


@pytest.mark.parametrize("name", ["folder", "landscapes"])
def test_fast_dev_run(tmp_path, messy_folder, name):
    root = messy_folder if name == "folder" else shared_data("images/scenes")
    cfg = make_cfg(tmp_path, [*MODEL_ONLY, f"data={name}", f"data.root={root}",
                              "data.image_size=32", "data.batch_size=4", "data.max_train=8",
                              "data.max_val=4", "data.max_test=4", "debug=fdr"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputWarning)
        metrics, objects = train(cfg)
    assert objects["trainer"].global_step >= 1 and "val/psnr" in metrics
