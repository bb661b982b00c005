"""Hostile photos, round three (docs/reliability.md): the generator's work is bounded by the
pixels for any shape (rule 1), and output targets are checked before the work and named when
a write fails (rule 4). Every file is generated here."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from photo_files import InputSpy
from PIL import Image
from test_video_helpers import ckpt, scene_frames  # noqa: F401

from colorgan.colorize import photos
from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import MAX_ASPECT, Colorizer


def _photo(path, h, w, seed=1):
    rgb = scene_frames(1, seed, h=max(h, 8), w=max(w, 8))[0][:h, :w]
    Image.fromarray(np.ascontiguousarray(rgb)).save(path)
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("h, w", [(1, 4000), (4000, 1), (2, 3000), (1, 1), (2, 2), (3, 5),
                                  (7, 1500)])
def test_any_shape_is_colorized_with_bounded_generator_input(ckpt, tmp_path, monkeypatch, h, w):  # noqa: F811
    spy = InputSpy(monkeypatch)
    src, out = _photo(tmp_path / "p.png", h, w), tmp_path / "p_color.png"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt)]) == 0
    with Image.open(out) as im:
        assert im.size == (w, h)
    s = Colorizer.from_checkpoint(ckpt).image_size
    assert len(spy.sizes) == 1
    gh, gw = spy.sizes[0]
    assert max(gh, gw) <= MAX_ASPECT * s and gh * gw <= MAX_ASPECT * s * s  # not 32 x 128,000


@pytest.mark.timeout(60)
def test_banded_path_of_a_long_strip_is_bounded_by_its_pixels(ckpt, monkeypatch):  # noqa: F811
    """A strip above the banding threshold: the upsampled chroma never has more rows than
    the photo, and the generator input stays capped."""
    spy = InputSpy(monkeypatch)
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    rgb = photos._tensor(np.ascontiguousarray(np.broadcast_to(
        scene_frames(1, 2, h=8, w=600)[0][:1], (2, 600, 3))))  # (3, 2, 600)
    out = photos.colorize_banded(rgb, c, band_pixels=600)  # 1-row bands
    assert out.shape == (3, 2, 600)
    assert spy.sizes and spy.sizes[0][0] * spy.sizes[0][1] <= MAX_ASPECT * c.image_size ** 2
    whole = c.colorize(rgb[None])[0].int()
    assert (out.int() - whole).abs().float().mean() < 1.0  # the same picture


def test_a_folder_at_the_file_target_is_refused_before_the_work(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                               capsys):
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    (tmp_path / "X.png").mkdir()
    rc = colorize_main([str(src), "-o", str(tmp_path / "X.png"), "--ckpt", str(ckpt),
                        "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 1 and "X.png is a folder" in err and ".partial-" not in err
    assert "Traceback" not in err and spy.sizes == []  # before the colorization


@pytest.mark.parametrize("name", ["out", "out.mp4", "out.xyz"])
def test_an_output_without_an_image_extension_is_refused_before_the_work(ckpt, tmp_path,  # noqa: F811
                                                                         monkeypatch, capsys,
                                                                         name):
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    assert colorize_main([str(src), "-o", str(tmp_path / name), "--ckpt", str(ckpt)]) == 1
    err = capsys.readouterr().err
    assert f"-o {tmp_path / name}" in err and spy.sizes == []
    assert not (tmp_path / name).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused_before_the_work(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                              capsys):
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for target in (locked / "p.png", locked / "sub" / "p.png"):
            assert colorize_main([str(src), "-o", str(target), "--ckpt", str(ckpt)]) == 1
            err = capsys.readouterr().err
            assert str(target) in err and "not writable" in err and spy.sizes == []
    finally:
        locked.chmod(0o700)


def _full_disk_after(monkeypatch, n_ok: int):
    """PIL saves: the first ``n_ok`` work, the next writes some bytes then hits a full disk."""
    real, calls = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) <= n_ok:
            return real(self, fp, *args, **kwargs)
        with open(fp, "wb") as f:
            f.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", save)


def test_a_full_disk_names_the_target_and_keeps_the_older_output(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                                 capsys):
    src = _photo(tmp_path / "p.png", 20, 20)
    out = tmp_path / "out.png"
    out.write_bytes(b"older output")
    _full_disk_after(monkeypatch, 0)
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write {out}: No space left on device" in err
    assert ".partial-" not in err and "Traceback" not in err and "Free some disk space" in err
    assert "existing file was kept" in err and out.read_bytes() == b"older output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "p.png"]  # no partial


def test_a_full_disk_in_a_folder_run_says_what_was_written(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                           capsys):
    src = tmp_path / "album"
    src.mkdir()
    for i in range(3):
        _photo(src / f"{i}.png", 16, 16, seed=i)
    _full_disk_after(monkeypatch, 1)
    out = tmp_path / "out"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write {out / '1.png'}" in err and "1 of 3 images were written" in err
    assert sorted(p.name for p in out.iterdir()) == ["0.png"]


def test_an_output_folder_inside_the_input_folder_is_not_walked(ckpt, tmp_path, capsys):  # noqa: F811
    src = tmp_path / "album"
    (src / "sub").mkdir(parents=True)
    _photo(src / "a.png", 16, 16)
    _photo(src / "sub" / "b.png", 16, 16, seed=2)
    out = src / "colored"
    args = [str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]
    assert colorize_main(args) == 0
    assert colorize_main(args + ["--overwrite"]) == 0  # the second run: not its own outputs
    assert "2 images written" in capsys.readouterr().out
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["a.png", "sub/b.png"]
    assert colorize_main(args) == 1  # without --overwrite: the clash is named, not colored/
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["album", "album.png", "out.jpg"])
def test_a_folder_run_into_the_input_or_a_file_name_is_refused(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                               capsys, target):
    spy = InputSpy(monkeypatch)
    src = tmp_path / "album"
    src.mkdir()
    _photo(src / "a.png", 16, 16)
    before = (src / "a.png").read_bytes()
    dst = tmp_path / target if target != "album" else src
    assert colorize_main([str(src), "-o", str(dst), "--ckpt", str(ckpt), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert f"-o {dst}" in err and spy.sizes == [] and "Traceback" not in err
    assert (src / "a.png").read_bytes() == before and sorted(os.listdir(src)) == ["a.png"]


def test_an_output_under_a_file_is_refused_before_the_work(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                           capsys):
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    (tmp_path / "notes.txt").write_text("a file")
    target = tmp_path / "notes.txt" / "p.png"
    assert colorize_main([str(src), "-o", str(target), "--ckpt", str(ckpt)]) == 1
    err = capsys.readouterr().err
    assert f"cannot write {target}" in err and "is a file, not a folder" in err
    assert spy.sizes == [] and "Traceback" not in err


def test_the_input_photo_as_its_own_output_is_refused(ckpt, tmp_path, monkeypatch, capsys):  # noqa: F811
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    before = src.read_bytes()
    assert colorize_main([str(src), "-o", str(src), "--ckpt", str(ckpt), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert f"-o {src} is the input photo itself" in err and spy.sizes == []
    assert src.read_bytes() == before


def test_a_name_too_long_for_the_disk_is_refused_before_the_work(ckpt, tmp_path, monkeypatch,  # noqa: F811
                                                                capsys):
    spy = InputSpy(monkeypatch)
    src = _photo(tmp_path / "p.png", 20, 20)
    target = tmp_path / ("x" * 300 + ".png")
    assert colorize_main([str(src), "-o", str(target), "--ckpt", str(ckpt)]) == 1
    err = capsys.readouterr().err
    assert "304 bytes long" in err and "shorter name" in err and spy.sizes == []
    assert ".partial-" not in err and "Traceback" not in err
