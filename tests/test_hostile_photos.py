"""Hostile photos (docs/reliability.md): rotated, 16-bit, float, oversized, huge, long names,
interrupted folders, film checkpoints. Every file is generated here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_video_helpers import ckpt, ckpt_dependent, scene_frames  # noqa: F401

from colorgan.colorize import photos
from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.data.folder import FolderDataModule
from colorgan.data.images import load_rgb


def _ramp16(h=48, w=64) -> np.ndarray:
    return np.linspace(0, 65535, h * w).reshape(h, w).astype(np.uint16)  # mean 32767


def _rotated_jpeg(path, w=60, h=30):
    """Stored landscape (w x h) with EXIF orientation 6: shown as portrait (h x w)."""
    img = Image.fromarray(scene_frames(1, 3, h=h, w=w)[0])
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, exif=exif)
    return path


def _gray_mean(path) -> float:
    with Image.open(path) as im:
        return float(np.asarray(im.convert("L"), dtype=np.float64).mean())


def test_exif_orientation_is_applied_in_colorize_and_training(ckpt, tmp_path):  # noqa: F811
    src = _rotated_jpeg(tmp_path / "portrait.jpg")
    out = tmp_path / "portrait_color.png"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt)]) == 0
    with Image.open(out) as im:
        assert im.size == (30, 60)  # upright: 30 wide, 60 high
    assert load_rgb(src, None).shape == (3, 60, 30)  # the training/eval reader too


@pytest.fixture
def deep_folder(tmp_path):
    """16-bit PNG, 16-bit TIFF and float32 TIFF of the same mid-gray ramp."""
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray(_ramp16()).save(root / "a16.png")
    Image.fromarray(_ramp16()).save(root / "b16.tif")
    Image.fromarray((_ramp16() / 65535).astype(np.float32)).save(root / "c32.tif")
    return root


def test_16bit_and_float_images_are_scaled_for_training_and_eval(deep_folder):
    dm = FolderDataModule(root=str(deep_folder), image_size=16, val_fraction=1 / 3,
                          test_fraction=1 / 3, cache_dir=None, num_workers=0, batch_size=1,
                          skip_gray=False)  # gray scans: kept on purpose here
    dm.setup()
    items = [ds[i]["rgb"] for ds in (dm.data_train, dm.data_val, dm.data_test)
             for i in range(len(ds))]
    assert len(items) == 3  # train, val (eval split=val) and test (eval split=test)
    for rgb in items:  # a mid-gray ramp stays mid-gray: not clipped white (16-bit) or black (float)
        assert 100 < rgb.float().mean() < 155


def test_16bit_and_float_images_are_scaled_for_colorize(ckpt, deep_folder, tmp_path):  # noqa: F811
    out = tmp_path / "colour"
    assert colorize_main([str(deep_folder), "-o", str(out), "--ckpt", str(ckpt),
                          "--no-progress"]) == 0
    for name in ("a16.png", "b16.tif", "c32.tif"):
        assert 100 < _gray_mean(out / name) < 155, name


def test_oversized_image_is_skipped_named_and_the_folder_finished(ckpt, tmp_path, capsys):  # noqa: F811
    src = tmp_path / "album"
    src.mkdir()
    Image.fromarray(scene_frames(1, 1, h=40, w=40)[0]).save(src / "a_small.png")
    Image.fromarray(scene_frames(1, 2, h=200, w=200)[0]).save(src / "b_huge.png")  # 40,000 px
    Image.fromarray(scene_frames(1, 3, h=40, w=40)[0]).save(src / "c_small.png")
    out = tmp_path / "out"
    rc = colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress",
                        "--max-pixels", "10000"])
    io = capsys.readouterr()
    assert rc == 1 and "Traceback" not in io.err
    assert "b_huge.png" in io.err and "--max-pixels" in io.err and "skipped" in io.err
    assert "2 images written, 1 skipped" in io.out
    assert sorted(p.name for p in out.iterdir()) == ["a_small.png", "c_small.png"]
    photos.set_max_pixels(None)
    assert colorize_main([str(src / "b_huge.png"), "-o", str(out / "b.png"), "--ckpt",
                          str(ckpt), "--max-pixels", "50000"]) == 0  # raised limit: done


def test_249_character_output_name_works(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "p.png"
    Image.fromarray(scene_frames(1, 1, h=20, w=20)[0]).save(src)
    out = tmp_path / ("x" * 245 + ".png")
    assert len(out.name) == 249
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt)]) == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert out.is_file()


def test_film_checkpoint_colorizes_photos(ckpt_dependent, tmp_path, capsys):  # noqa: F811
    src = tmp_path / "p.png"
    Image.fromarray(scene_frames(1, 1, h=20, w=30)[0]).save(src)
    assert colorize_main([str(src), "-o", str(tmp_path / "a.png"), "--ckpt",
                          str(ckpt_dependent)]) == 0, capsys.readouterr().err
    with pytest.warns(UserWarning, match="applies to videos"):
        assert colorize_main([str(src), "-o", str(tmp_path / "b.png"), "--ckpt",
                              str(ckpt_dependent), "--temporal", "dependent"]) == 0
    assert (tmp_path / "a.png").is_file() and (tmp_path / "b.png").is_file()


def test_interrupted_folder_says_what_was_written(ckpt, tmp_path, capsys, monkeypatch):  # noqa: F811
    src = tmp_path / "album"
    src.mkdir()
    for i in range(4):
        Image.fromarray(scene_frames(1, i, h=20, w=20)[0]).save(src / f"{i}.png")
    real, calls = photos.colorize_photo, []

    def ctrl_c_at_third(rgb, colorizer, *hints):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(rgb, colorizer, *hints)

    monkeypatch.setattr(photos, "colorize_photo", ctrl_c_at_third)
    out = tmp_path / "out"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "2 of 4 images were written" in err and "nothing was written" not in err
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]


def test_banded_recombination_matches_the_whole_image(ckpt, monkeypatch):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    rgb = torch.from_numpy(scene_frames(1, 5, h=300, w=200)[0]).permute(2, 0, 1)  # (3, H, W)
    whole = c.colorize(rgb[None])[0].int()
    banded = photos.colorize_banded(rgb, c, band_pixels=200 * 7).int()  # 7-row bands
    assert banded.shape == whole.shape
    assert (banded - whole).abs().float().mean() < 1.0  # same picture, to rounding
    assert (banded - whole).abs().max() <= 12
