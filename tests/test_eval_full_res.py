"""`colorgan eval --images DIR --full-res`: the user's colorize path measured at each photo's
own size, the gray baseline beside it, and errors that name the option."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from test_video_helpers import ckpt, scene_frames  # noqa: F401

from colorgan import cli
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.photos import colorize_photo
from colorgan.eval_full_res import METRICS, gray_output, summarize

SIZES = {"wide.png": (61, 97), "sub/square.png": (40, 40), "tall.jpg": (72, 48)}  # (H, W)


def _album(root):
    """Three colour photos of different sizes (one non-square 97 x 61), one in a sub-folder."""
    for i, (name, (h, w)) in enumerate(SIZES.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(scene_frames(1, 40 + i, h=h, w=w)[0]).save(path, quality=95)
    return root


def _eval(args, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    rc = cli.main(["eval", *args, "--full-res", "--json", str(out), "--no-progress"])
    captured = capsys.readouterr()
    return rc, (json.loads(out.read_text()) if rc == 0 else None), captured


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2)
    return 10 * math.log10(1 / mse)


def test_metrics_are_measured_at_each_photos_own_size(ckpt, tmp_path, capsys):  # noqa: F811
    album = _album(tmp_path / "album")
    rc, payload, out = _eval(["--images", str(album), "--ckpt", str(ckpt)], tmp_path, capsys)
    assert rc == 0, out.err
    assert payload["num_images"] == 3 and payload["full_res"] and payload["skipped_images"] == []
    for row in ("model", "gray_baseline"):
        assert set(payload[row]) == {*METRICS, "delta_colorfulness"}
        assert all(math.isfinite(v) for v in payload[row].values())
    rows = {r["file"]: r for r in payload["per_image"]}
    assert {k: (r["height"], r["width"]) for k, r in rows.items()} == SIZES
    # the 97 x 61 photo's PSNR is that of colorize's own output at 97 x 61 against the photo
    photo = np.array(Image.open(album / "wide.png").convert("RGB"))  # (61, 97, 3)
    real = torch.from_numpy(photo).permute(2, 0, 1)
    fake = colorize_photo(real, Colorizer.from_checkpoint(ckpt, "cpu"))
    assert fake.shape == (3, 61, 97)
    assert rows["wide.png"]["model"]["psnr"] == pytest.approx(_psnr(fake.permute(1, 2, 0).numpy(),
                                                                    photo), abs=1e-3)
    gray = gray_output(real).permute(1, 2, 0).numpy()
    assert rows["wide.png"]["gray_baseline"]["psnr"] == pytest.approx(_psnr(gray, photo), abs=1e-3)
    # the means are over photos, each counted once
    assert payload["model"]["psnr"] == pytest.approx(np.mean([r["model"]["psnr"]
                                                              for r in rows.values()]))
    assert "Full-resolution evaluation" in out.out and "gray baseline" in out.out


def test_the_gray_row_is_what_a_gain_of_zero_gives(ckpt, tmp_path, capsys):  # noqa: F811
    album = _album(tmp_path / "album")
    # the split eval's ckpt_path= spelling works here too
    rc, payload, out = _eval(["--images", str(album), f"ckpt_path={ckpt}", "--chroma-gain", "0"],
                             tmp_path, capsys)
    assert rc == 0, out.err
    for m in METRICS:  # no colour at all is exactly the gray baseline, photo by photo
        assert payload["model"][m] == pytest.approx(payload["gray_baseline"][m], abs=1e-6)
    assert payload["model"]["colorfulness"] < 0.05  # and gray has no colour


def test_a_bad_photo_is_skipped_and_named(ckpt, tmp_path, capsys):  # noqa: F811
    album = _album(tmp_path / "album")
    (album / "broken.jpg").write_bytes(b"not a jpeg")
    rc, payload, out = _eval(["--images", str(album), "--ckpt", str(ckpt)], tmp_path, capsys)
    assert rc == 0 and payload["num_images"] == 3
    assert "broken.jpg" in payload["skipped_images"][0] and "broken.jpg" in out.err


@pytest.mark.parametrize("what", ["missing", "file", "empty", "none"])
def test_a_bad_folder_names_the_option(what, tmp_path, capsys):
    target = tmp_path / "photos"
    if what == "file":
        target = tmp_path / "one.png"
        Image.new("RGB", (8, 8)).save(target)
    elif what == "empty":
        target.mkdir()
        (target / "notes.txt").write_text("no photos here")
    args = [] if what == "none" else ["--images", str(target)]
    ckpt_file = tmp_path / "never_read.ckpt"  # the folder is checked before the checkpoint
    rc, _, out = _eval([*args, "--ckpt", str(ckpt_file)], tmp_path, capsys)
    assert rc == 1
    assert "--images" in out.err and "Traceback" not in out.err
    assert not (tmp_path / "metrics.json").exists()  # nothing half-written


def test_a_folder_of_unreadable_photos_names_the_option(ckpt, tmp_path, capsys):  # noqa: F811
    album = tmp_path / "album"
    album.mkdir()
    (album / "a.png").write_bytes(b"garbage")
    rc, _, out = _eval(["--images", str(album), "--ckpt", str(ckpt)], tmp_path, capsys)
    assert rc == 1 and "--images" in out.err and "a.png" in out.err
    assert not (tmp_path / "metrics.json").exists()


def test_summary_averages_per_photo_and_takes_delta_cf_of_the_means():
    def row(psnr, cf, gt):
        scores = {"psnr": psnr, "ssim": 0.5, "colorfulness": cf, "ciede2000": 3.0}
        return {"model": scores, "gray_baseline": {**scores, "colorfulness": 0.0},
                "colorfulness_gt": gt}
    s = summarize([row(20.0, 10.0, 30.0), row(30.0, 50.0, 10.0)])
    assert s["model"]["psnr"] == 25.0 and s["colorfulness_gt"] == 20.0
    assert s["model"]["delta_colorfulness"] == 10.0  # |30 - 20|, not the mean of |10-30|, |50-10|
    assert s["gray_baseline"]["delta_colorfulness"] == 20.0
