"""Hostile photos, round three (docs/reliability.md, rule 2): whatever a photo holds that the
output will not (transparency, more frames, a colour profile, NaN values) is kept or named
once. Every file is generated here."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from photo_files import adobe_lstar, matrix_profile, srgb_lstar
from PIL import Image, ImageCms
from test_video_helpers import ckpt, scene_frames  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.colorize.photos import PhotoNoteWarning
from colorgan.data.images import BadInputWarning, ImageFiles, load_rgb, read_photo, scan_images


def _rgb(h=24, w=32, seed=1) -> np.ndarray:
    return scene_frames(1, seed, h=h, w=w)[0]  # uint8 (H, W, 3)


def _alpha(h=24, w=32) -> np.ndarray:
    a = np.full((h, w), 255, np.uint8)
    a[:, : w // 2] = 0  # left half transparent
    a[0, -1] = 128
    return a


def _rgba_png(path):
    Image.fromarray(np.dstack([_rgb(), _alpha()]), "RGBA").save(path)


def _la_png(path):
    Image.fromarray(np.dstack([_rgb()[..., 0], _alpha()]), "LA").save(path)


def _palette_gif(path):  # a palette image with a transparent index
    img = Image.fromarray(_rgb()).quantize(16)
    arr = np.asarray(img).copy()
    arr[:, :16] = 15
    img = Image.fromarray(arr, "P")
    img.putpalette(Image.fromarray(_rgb()).quantize(16).getpalette())
    img.save(path, transparency=15)


def _colorize(ckpt, src, out, *extra):  # noqa: F811
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert colorize_main([str(src), "-o", str(out), "--ckpt", str(ckpt), *extra]) == 0
    return [str(w.message) for w in caught if issubclass(w.category, (PhotoNoteWarning,
                                                                      RuntimeWarning))]


@pytest.mark.parametrize("make, name", [(_rgba_png, "a.png"), (_la_png, "a.png"),
                                        (_palette_gif, "a.gif")])
@pytest.mark.parametrize("ext", [".png", ".webp", ".tif"])
def test_transparency_is_kept_where_the_output_format_has_alpha(ckpt, tmp_path, make, name,  # noqa: F811
                                                                ext):
    src, out = tmp_path / name, tmp_path / f"out{ext}"
    make(src)
    with Image.open(src) as im:
        want = np.asarray(im.convert("RGBA").getchannel("A"))
    assert _colorize(ckpt, src, out) == []  # nothing dropped: nothing to say
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im.getchannel("A")), want)


def test_transparency_into_a_jpeg_is_named_once(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "logo.png"
    _rgba_png(src)
    notes = _colorize(ckpt, src, tmp_path / "logo.jpg")
    assert len(notes) == 1 and str(src) in notes[0]
    assert "flattened onto white" in notes[0] and "JPEG has no alpha" in notes[0]
    with Image.open(tmp_path / "logo.jpg") as im:
        left = np.asarray(im.convert("L"))[:, :12]
    assert left.mean() > 240  # the transparent half came out white, as said


def test_an_opaque_alpha_channel_is_nothing_to_say(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "opaque.png"
    Image.fromarray(np.dstack([_rgb(), np.full((24, 32), 255, np.uint8)]), "RGBA").save(src)
    assert _colorize(ckpt, src, tmp_path / "o.jpg") == []


def _frames(n):
    return [Image.fromarray(_rgb(seed=i)) for i in range(n)]


@pytest.mark.parametrize("name, n", [("anim.gif", 3), ("pages.tif", 2), ("anim.webp", 3)])
def test_other_frames_and_pages_are_named_with_their_count(ckpt, tmp_path, name, n):  # noqa: F811
    src = tmp_path / name
    first, *rest = _frames(n)
    first.save(src, save_all=True, append_images=rest, **({"duration": 100, "loop": 0}
                                                          if name != "pages.tif" else {}))
    with Image.open(src) as im:
        assert im.n_frames == n
    notes = _colorize(ckpt, src, tmp_path / "out.png")
    assert len(notes) == 1 and str(src) in notes[0]
    assert f"{n} frames" in notes[0] and "only the first" in notes[0] and "video" in notes[0]


PATCH = (160, 60, 50)  # a red inside both gamuts


def test_an_adobe_rgb_photo_is_converted_to_srgb(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "adobe.png"
    arr = np.zeros((24, 32, 3), np.uint8)
    arr[:] = PATCH
    Image.fromarray(arr).save(src, icc_profile=matrix_profile())
    truth = adobe_lstar(PATCH)
    assert abs(srgb_lstar(PATCH) - truth) > 3  # read as sRGB, the patch would be darker
    photo = read_photo(src)
    assert abs(srgb_lstar(photo.rgb[5, 5]) - truth) < 0.5
    out = tmp_path / "out.png"
    notes = _colorize(ckpt, src, out)
    assert len(notes) == 1 and str(src) in notes[0] and "Adobe RGB (1998)" in notes[0]
    assert "converted to sRGB" in notes[0]
    with Image.open(out) as im:  # the output keeps the patch's lightness, and says it is sRGB
        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(
            __import__("io").BytesIO(im.info["icc_profile"])))
        assert "sRGB" in desc
        assert abs(srgb_lstar(np.asarray(im.convert("RGB"))[5, 5]) - truth) < 1.5
    # training and eval read the same colours
    np.testing.assert_array_equal(load_rgb(src, None).permute(1, 2, 0).numpy(), photo.rgb)


def test_an_srgb_profile_is_nothing_to_say(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "srgb.png"
    Image.fromarray(_rgb()).save(src, icc_profile=ImageCms.ImageCmsProfile(
        ImageCms.createProfile("sRGB")).tobytes())
    assert _colorize(ckpt, src, tmp_path / "out.png") == []
    np.testing.assert_array_equal(read_photo(src).rgb, _rgb())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinite_values_are_counted_and_named(ckpt, tmp_path, bad):  # noqa: F811
    src = tmp_path / "scan.tif"
    arr = np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32)
    arr[3, :7] = bad
    Image.fromarray(arr).save(src)
    notes = _colorize(ckpt, src, tmp_path / "out.png")  # numpy's RuntimeWarning is caught too
    assert len(notes) == 1 and str(src) in notes[0]
    assert "7 NaN or infinite value(s) set to 0" in notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gray = read_photo(src).rgb[..., 0]
    assert (gray[3, :7] == 0).all() and gray[-1, -1] == 255  # the rest scaled as before


def test_training_names_such_files_once_per_scan_and_loads_them_quietly(tmp_path):
    files = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.gif"]
    _rgba_png(files[0])
    Image.fromarray(_rgb(seed=2)).save(files[1])
    first, *rest = _frames(3)
    first.save(files[2], save_all=True, append_images=rest)
    with pytest.warns(BadInputWarning) as caught:
        good, bad = scan_images(files, cache_dir=tmp_path / "cache", what="album")
    assert good == files and bad == []
    [msg] = [str(w.message) for w in caught]
    assert "2 file(s) in album" in msg and "a.png: transparency flattened onto white" in msg
    assert "c.gif: it has 3 frames" in msg and "b.png" not in msg
    with pytest.warns(BadInputWarning, match="2 file"):  # cached: said again, decoded once
        scan_images(files, cache_dir=tmp_path / "cache", what="album")
    ds = ImageFiles(good, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per epoch or worker
        for _ in range(2):
            assert [tuple(ds[i]["rgb"].shape) for i in range(3)] == [(3, 16, 16)] * 3


def test_exif_and_resolution_are_carried_to_the_output(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "camera.jpg"
    exif = Image.Exif()
    exif[0x010F] = "colorgan camera"  # Make
    exif[0x0132] = "2026:12:06 10:00:00"  # DateTime
    exif[0x0112] = 6  # orientation: applied to the pixels, so not carried
    Image.fromarray(_rgb()).save(src, exif=exif, dpi=(300, 300))
    for ext in (".jpg", ".png", ".webp"):
        out = tmp_path / f"out{ext}"
        assert _colorize(ckpt, src, out) == []
        with Image.open(out) as im:
            got = im.getexif()
            assert got[0x010F] == "colorgan camera" and got[0x0132] == "2026:12:06 10:00:00"
            assert got.get(0x0112, 1) == 1 and im.size == (24, 32)  # upright, not turned twice
            if ext != ".webp":
                assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
    notes = _colorize(ckpt, src, tmp_path / "out.bmp")  # a format without EXIF: said
    assert len(notes) == 1 and "EXIF metadata" in notes[0] and "BMP" in notes[0]


def test_16_bit_samples_reduced_to_8_bits_are_named(ckpt, tmp_path):  # noqa: F811
    src = tmp_path / "scan16.png"
    Image.fromarray(np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)).save(src)
    notes = _colorize(ckpt, src, tmp_path / "out.png")
    assert len(notes) == 1 and str(src) in notes[0] and "16-bit samples" in notes[0]
