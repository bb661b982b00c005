"""`colorgan colorize` on photos and folders: sizes kept, the tree mirrored, errors clear."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_video_helpers import ckpt, scene_frames  # noqa: F401

from colorgan.colorize.cli import colorize_main


def _photo(path, h=50, w=70, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.resize(scene_frames(1, 31, h=h, w=w)[0], (h, w, 3))
    Image.fromarray(rgb).convert(mode).save(path)
    return path


def test_single_photo_keeps_its_size(ckpt, tmp_path):  # noqa: F811
    src = _photo(tmp_path / "old.jpg", h=50, w=70)
    out = tmp_path / "new.png"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt)]) == 0
    with Image.open(out) as im:
        assert im.size == (70, 50) and im.mode == "RGB"


def test_folder_tree_is_mirrored_and_bad_images_reported(ckpt, tmp_path, capsys):  # noqa: F811
    src = tmp_path / "album"
    _photo(src / "a.png")
    _photo(src / "1950s" / "b.jpg", mode="RGB")
    (src / "1950s" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "album_color"
    rc = colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"])
    assert rc == 1  # one image could not be read
    io = capsys.readouterr()
    assert "2 images written, 1 skipped" in io.out
    assert "broken.jpg" in io.err and "skipped" in io.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["1950s/b.jpg", "a.png"]


def test_existing_output_is_not_overwritten(ckpt, tmp_path, capsys):  # noqa: F811
    src = _photo(tmp_path / "p.png")
    out = tmp_path / "o.png"
    out.write_bytes(b"keep me")
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt)]) == 1
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--overwrite"]) == 0
    with Image.open(out) as im:
        assert im.size == (70, 50)


@pytest.mark.parametrize("name,content,message", [
    ("scan.jpg", b"\x00\x01garbage", "cannot be read as an image"),
    ("notes.txt", b"hello", "unknown file type"),
    ("missing.png", None, "no such file"),
])
def test_bad_inputs_name_the_file(ckpt, tmp_path, capsys, name, content, message):  # noqa: F811
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    rc = colorize_main([str(src), "-o", str(tmp_path / "o.png"), "--ckpt", str(ckpt)])
    err = capsys.readouterr().err
    assert rc == 1 and name in err and message in err
    assert not (tmp_path / "o.png").exists()
