"""Reference frames for films: a colorist's coloured frames steer their shots (issue #30)."""
from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from PIL import Image
from test_video_helpers import ckpt, make_video, scene_frames, video_stats  # noqa: F401

from colorgan.colorize.cli import colorize_main
from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.colorize.reference_frames import ReferenceFrameError, load_reference_frames
from colorgan.colorize.shot_references import ShotReferences
from colorgan.scenes import find_cuts

H, W, N, CUT = 48, 64, 12, 6  # two shots: frames 0-5 and 6-11


@pytest.fixture(scope="module")
def colorizer(ckpt):  # noqa: F811
    return Colorizer.from_checkpoint(ckpt, device="cpu")


@pytest.fixture
def film(tmp_path):
    """A 12-frame clip, slow pans over two different scenes (a cut at frame 6), with audio."""
    frames = scene_frames(CUT, 3, H, W) + scene_frames(N - CUT, 11, H, W, dark=True)
    return make_video(tmp_path / "film.mp4", frames, audio=True, crf=0), frames


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-9)))


def save(path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(path)


def test_frames_are_named_by_index_or_timestamp(tmp_path):
    rgb = scene_frames(1, 5, H, W)[0]
    save(tmp_path / "000003.png", rgb)
    save(tmp_path / "00-00-00.200.png", rgb)  # 0.2 s at 25 frames/s = frame 5
    (tmp_path / ".DS_Store").write_bytes(b"\0")  # hidden files are not frames
    refs = load_reference_frames(tmp_path, W, H, N, 25)
    assert sorted(refs) == [3, 5]
    assert refs[3].dtype == torch.uint8 and refs[3].shape == (3, H, W)
    assert torch.equal(refs[3], torch.from_numpy(rgb).permute(2, 0, 1))


@pytest.mark.parametrize("case", ["name", "size", "gray", "past_end", "twice", "unreadable",
                                  "not_image", "empty", "missing"])
def test_bad_reference_folders_name_the_file_and_what_to_do(tmp_path, case):
    d = tmp_path / "refs"
    d.mkdir()
    rgb = scene_frames(1, 5, H, W)[0]
    bad = {"name": "shot1.png", "size": "000002.png", "gray": "000002.png",
           "past_end": "000012.png", "twice": "00-00-00.080.png", "unreadable": "000004.png",
           "not_image": "notes.txt", "empty": None, "missing": None}[case]
    if case == "twice":
        save(d / "000002.png", rgb)  # 0.08 s at 25 frames/s is frame 2 too
    if case == "size":
        save(d / bad, rgb[:, :32])
    elif case == "gray":
        save(d / bad, np.repeat(rgb.mean(2, keepdims=True).astype(np.uint8), 3, 2))
    elif case in ("unreadable", "not_image"):
        (d / bad).write_bytes(b"not a picture")
    elif bad is not None:
        save(d / bad, rgb)
    folder = tmp_path / "nowhere" if case == "missing" else d
    expect = {"name": "is no frame; name reference frames by frame numbers",
              "size": "32x48 pixels, the film is 64x48", "gray": "is black and white",
              "past_end": "frame 12 is past the film's end (12 frames", "twice": "both are frame 2",
              "unreadable": "cannot be read as an image", "not_image": "not an image",
              "empty": "the folder is empty", "missing": "no such folder"}[case]
    with pytest.raises(ReferenceFrameError) as e:
        load_reference_frames(folder, W, H, N, 25)
    assert expect in str(e.value)
    assert str(folder if bad is None else d / bad) in str(e.value)
    if case == "twice":
        assert str(d / "000002.png") in str(e.value)


def test_each_reference_steers_its_shot_forwards_and_backwards_never_across_a_cut():
    refs = {2: None, 5: None, 9: None}  # shot [0, 7) has two references, [7, 9) none
    s = ShotReferences(refs, [7, 9])
    assert [s.source(t) for t in range(12)] == [
        (2, True), (2, True), (2, False), (2, False), (2, False), (5, False), (5, False),
        None, None, (9, False), (9, False), (9, False)]
    assert not s.carries(8) and s.carries(0)
    with pytest.raises(ValueError, match="--carry-tau"):
        ShotReferences(refs, [], tau=0)
    with pytest.raises(ValueError, match="--carry-flow 'slow': choose one of ultrafast, fast"):
        ShotReferences(refs, [], preset="slow")


@pytest.mark.parametrize("recombine", ["yuv", "lab"])
def test_a_reference_frame_colours_its_shot_and_the_other_shot_stays_automatic(
        colorizer, film, tmp_path, recombine):
    src, frames = film
    assert [i for i, _ in find_cuts(src)] == [CUT]
    refs = tmp_path / "refs"
    refs.mkdir()
    save(refs / "000002.png", decoded(src)[2])  # the true colour of shot 1's third frame
    auto, guided = tmp_path / "auto.mp4", tmp_path / "guided.mp4"
    colorize_video(src, auto, colorizer, progress=False, recombine=recombine)
    r = colorize_video(src, guided, colorizer, progress=False, recombine=recombine,
                       reference_frames=refs)
    assert r.frames == N and r.references == 1 and r.cuts == [CUT]
    s_in, s_out = video_stats(src), video_stats(guided)
    assert s_out["times"] == s_in["times"] and s_out["audio_packets"] == s_in["audio_packets"] > 0
    truth, a, g = decoded(src), decoded(auto), decoded(guided)
    for t in range(CUT):  # backwards (0, 1), the reference, forwards (3-5): close to the truth
        assert psnr(g[t], truth[t]) > psnr(a[t], truth[t]) + 3, t
        assert psnr(g[t], truth[t]) > 30, t
    for t in range(CUT, N):  # the next shot has no reference: the automatic colour, unchanged
        assert psnr(g[t], a[t]) > 45, t


def test_reference_frames_on_the_command_line(colorizer, ckpt, film, tmp_path, capsys):  # noqa: F811
    src, _ = film
    out = tmp_path / "out.mp4"
    args = [str(src), "-o", str(out), "--ckpt", str(ckpt), "--no-progress"]
    refs = tmp_path / "refs"
    refs.mkdir()
    save(refs / "000099.png", decoded(src)[2])
    assert colorize_main(args + ["--reference-frames", str(refs)]) == 1
    assert f"{refs / '000099.png'}: frame 99 is past the film's end" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob("*.tmp*")) == []  # nothing half-written
    (refs / "000099.png").rename(refs / "00-00-00.080.png")  # frame 2 by its time
    assert colorize_main(args + ["--reference-frames", str(refs), "--carry-tau", "0.1",
                                 "--carry-fill", "--carry-flow", "fast"]) == 0
    assert "1 reference frames" in capsys.readouterr().out and out.stat().st_size > 0
    assert colorize_main(args + ["--overwrite", "--carry-tau", "0"]) == 1
    assert "--carry-tau 0.0: must be > 0" in capsys.readouterr().err
    photo = tmp_path / "p.png"
    save(photo, decoded(src)[0])
    assert colorize_main([str(photo), "-o", str(tmp_path / "c.png"), "--ckpt", str(ckpt),
                          "--reference-frames", str(refs)]) == 1
    assert f"--reference-frames {refs}: is for films" in capsys.readouterr().err
    assert colorize_main(args + ["--overwrite", "--reference", str(refs / "00-00-00.080.png")]) == 1
    assert "was trained without hints" in capsys.readouterr().err  # --reference: hint models
