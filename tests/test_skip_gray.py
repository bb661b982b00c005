"""data.skip_gray: black-and-white photos have no colour to learn from or score against."""
from __future__ import annotations

import json
import warnings

import hydra
import numpy as np
import pytest
from PIL import Image

from colorgan.data.cifar10 import colour_only
from colorgan.data.images import BadInputWarning, check_image, scan_images
from tests.conftest import make_cfg, shared_data


def _photos(root, n_colour: int = 10):
    """Colour photos plus every kind of black-and-white file, and a sepia (toned) photo."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_colour):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / f"c{i}.png")
    gray = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    Image.fromarray(np.repeat(gray[..., None], 3, -1)).save(root / "bw_rgb.jpg", quality=90)
    Image.fromarray(np.repeat(gray[..., None], 3, -1)).save(root / "bw_rgb.png")
    Image.fromarray(gray).save(root / "bw_l.png")  # mode L
    sepia = np.stack([gray * 0.9 + 20, gray * 0.75 + 10, gray * 0.55], -1).astype(np.uint8)
    Image.fromarray(sepia).save(root / "sepia.jpg", quality=90)
    return root, {"bw_rgb.jpg", "bw_rgb.png", "bw_l.png"}


def test_check_image_tells_black_and_white_from_colour_and_toned(tmp_path):
    root, bw = _photos(tmp_path / "p", n_colour=2)
    for f in sorted(root.iterdir()):
        assert check_image(f) == (None, f.name in bw), f.name
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    err, gray = check_image(root / "broken.jpg")
    assert err and not gray


def test_scan_leaves_out_black_and_white_only_when_asked(tmp_path):
    root, bw = _photos(tmp_path / "p")
    files = sorted(root.iterdir())
    good, bad = scan_images(files, cache_dir=tmp_path / "cache", what="p", skip_gray=True)
    assert {p.name for p, _ in bad} == bw and "sepia.jpg" in {p.name for p in good}
    assert len(good) == len(files) - len(bw)
    kept, none = scan_images(files, cache_dir=tmp_path / "cache", what="p")  # cached: same answer
    assert kept == files and none == []
    # a cap counts colour photos only: 4 wanted, 4 colour ones found past the gray files
    good, _ = scan_images(sorted(files, key=lambda p: p.name not in bw), limit=4, skip_gray=True)
    assert len(good) == 4 and not {p.name for p in good} & bw


def test_old_cache_entries_are_checked_again(tmp_path):
    root, bw = _photos(tmp_path / "p", n_colour=1)
    files = sorted(root.iterdir())
    scan_images(files, cache_dir=tmp_path / "cache", what="p")
    cache = next((tmp_path / "cache").glob("scan-*.json"))
    entries = json.loads(cache.read_text())
    cache.write_text(json.dumps({k: v[:3] for k, v in entries.items()}))  # before skip_gray
    good, bad = scan_images(files, cache_dir=tmp_path / "cache", what="p", skip_gray=True)
    assert {p.name for p, _ in bad} == bw


def test_folder_leaves_them_out_of_every_split_and_says_which(tmp_path):
    root, bw = _photos(tmp_path / "p", n_colour=20)
    kept = {}
    for skip in (True, False):
        cfg = make_cfg(tmp_path, ["data=folder", f"data.root={root}", "data.image_size=16",
                                  "data.val_fraction=0.5", f"data.skip_gray={skip}"])
        dm = hydra.utils.instantiate(cfg.data)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            dm.setup("fit")
        msgs = [str(w.message) for w in rec if issubclass(w.category, BadInputWarning)]
        kept[skip] = ({f.name for f in dm.data_train.files}, {f.name for f in dm.data_val.files})
        if skip:
            assert len(msgs) == 1 and msgs[0].startswith("Left out 3 black-and-white photo(s)")
            assert "data.skip_gray=false" in msgs[0] and all(n in msgs[0] for n in bw)
        else:
            assert msgs == []
    for split in (0, 1):  # colour photos keep their split; only the gray ones go
        assert kept[True][split] == kept[False][split] - bw
    assert bw <= kept[False][0] | kept[False][1]


def test_cifar_arrays_drop_black_and_white_rows():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    data[[1, 4]] = data[[1, 4], ..., :1]  # rows 1 and 4: R = G = B
    assert colour_only(data, [5, 4, 3, 2, 1, 0]) == [5, 3, 2, 0]


def test_real_scene_photos_hold_black_and_white_ones(tmp_path):
    """The scene photos hold black-and-white ones: gray (ab = 0) scores about 100 dB on them,
    which alone lifts the gray baseline's mean PSNR by ~3 dB (experiments/quality)."""
    root = shared_data("images/scenes")
    sizes = {}
    for skip in (True, False):
        cfg = make_cfg(tmp_path, ["data=folder", f"data.root={root}", "data.image_size=32",
                                  "data.val_fraction=0.2", f"data.skip_gray={skip}"])
        dm = hydra.utils.instantiate(cfg.data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BadInputWarning)
            dm.setup("fit")
        sizes[skip] = (len(dm.data_train), len(dm.data_val))
        if skip:
            for p, _ in dm.skipped:
                a = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32)
                assert np.abs(a - a.mean(-1, keepdims=True)).mean() < 1, p  # gray at full size
    left_out = sum(sizes[False]) - sum(sizes[True])
    assert 20 <= left_out <= 60 and sizes[False] == (800, 200)


def test_a_folder_of_only_black_and_white_photos_says_what_to_do(tmp_path):
    root, _ = _photos(tmp_path / "p", n_colour=0)
    (root / "sepia.jpg").unlink()
    cfg = make_cfg(tmp_path, ["data=folder", f"data.root={root}", "data.image_size=16"])
    dm = hydra.utils.instantiate(cfg.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputWarning)
        with pytest.raises(ValueError, match=r"black-and-white, left out by data.skip_gray "
                                             r"\(set data.skip_gray=false"):
            dm.setup("fit")
