"""data=video_frames: PyAV sampling, the frame cache, scene-wise splits and frame pairs."""
from __future__ import annotations

import json

import av
import hydra
import numpy as np
import pytest
import torch

from colorgan.data import frames
from colorgan.data.images import BadInputWarning
from colorgan.train import train
from tests.conftest import TINY, make_cfg, shared_data

MODEL_ONLY = [o for o in TINY if not o.startswith("data")]
SCENE_LEVELS = (30, 220, 120)  # three shots of clearly different brightness


@pytest.fixture(scope="module")
def three_shots(tmp_path_factory):
    """A 3 s, 16 fps, 64x48 video: three 1 s shots (dark, bright, mid) with moving noise."""
    path = tmp_path_factory.mktemp("video") / "three_shots.avi"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=16)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for level in SCENE_LEVELS:
            for _ in range(16):
                img = np.clip(level + rng.normal(0, 8, (48, 64, 3)), 0, 255).astype(np.uint8)
                img[..., 0] = level // 2  # a colour cast, so chroma is not zero
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _dm(tmp_path, root, *extra):
    cfg = make_cfg(tmp_path, ["data=video_frames", f"data.root={root}", "data.image_size=16",
                              "data.num_workers=0", *extra])
    return hydra.utils.instantiate(cfg.data)


def test_test_webm_at_8_fps_gives_duration_times_8_and_is_cached(tmp_path, monkeypatch):
    video = shared_data("videos/test.webm")
    frames_file, manifest = frames.cached_frames(video, 8.0, 16, tmp_path / "cache")
    duration = 94 / 30.3  # frames / frame rate of the file
    assert abs(manifest["num_frames"] - duration * 8) <= 1
    assert np.load(frames_file).shape == (manifest["num_frames"], 16, 16, 3)
    assert manifest["complete"] and len(manifest["times"]) == manifest["num_frames"]

    def no_decode(*a, **k):
        raise AssertionError("decoded again although the cache is there")
    monkeypatch.setattr(frames, "decode_frames", no_decode)
    again, manifest2 = frames.cached_frames(video, 8.0, 16, tmp_path / "cache")
    assert again == frames_file and manifest2["num_frames"] == manifest["num_frames"]
    with pytest.raises(AssertionError, match="decoded again"):  # other rate: a new entry
        frames.cached_frames(video, 4.0, 16, tmp_path / "cache")


def test_no_scene_in_both_train_and_val(tmp_path, three_shots):
    dm = _dm(tmp_path, three_shots, "data.fps=8", "data.val_fraction=0.3")
    dm.setup("fit")
    scenes = dm.manifests[0]["scenes"]
    assert len(scenes) == 24 and sorted(set(scenes)) == [0, 1, 2]  # two cuts found
    train_scenes = {scenes[f] for _, f in dm.data_train.items}
    val_scenes = {scenes[f] for _, f in dm.data_val.items}
    assert train_scenes and val_scenes and not train_scenes & val_scenes
    assert len(dm.data_train) + len(dm.data_val) == 24


@pytest.mark.parametrize("split_by", ["scene", "video"])
def test_real_videos_never_share_a_shot(tmp_path, split_by):
    root = shared_data("videos")
    dm = _dm(tmp_path, root, f"data.split_by={split_by}", "data.fps=4")
    dm.setup("fit")
    shot = lambda v, f: (v, dm.manifests[v]["scenes"][f])
    train = {shot(v, f) for v, f in dm.data_train.items}
    val = {shot(v, f) for v, f in dm.data_val.items}
    assert len(dm.manifests) == 3 and train and val and not train & val


def test_pairs_carry_previous_frame_within_a_scene(tmp_path, three_shots):
    dm = _dm(tmp_path, three_shots, "data.fps=8", "data.pairs=true", "data.val_fraction=0.3")
    dm.setup("fit")
    ds, scenes = dm.data_train, dm.manifests[0]["scenes"]
    for i, (_, f) in enumerate(ds.items):
        s = ds[i]
        expect = f > 0 and scenes[f - 1] == scenes[f]
        assert bool(s["has_prev"]) == expect
        if expect:
            assert torch.equal(s["prev_rgb"], ds._frame(0, f - 1))


def test_one_scene_cannot_be_split(tmp_path):
    video = shared_data("videos/realshort.mp4")
    with pytest.raises(ValueError, match=r"one scene.*data\.scene_threshold"):
        _dm(tmp_path, video).setup("fit")


def test_video_failing_midway_keeps_frames_and_warns(tmp_path, three_shots, monkeypatch):
    def five_then_fail(container, stream):
        for i, frame in enumerate(container.decode(stream)):
            if i == 5:
                raise av.error.InvalidDataError(1094995529, "Invalid data", str(three_shots))
            yield frame
    monkeypatch.setattr(frames, "_decode", five_then_fail)
    with pytest.warns(BadInputWarning, match=r"three_shots\.avi failed after 5"):
        path, manifest = frames.cached_frames(three_shots, None, 16, tmp_path / "c")
    assert manifest["num_frames"] == 5 and not manifest["complete"]
    on_disk = json.loads((path.parent / "manifest.json").read_text())
    assert on_disk["complete"] is False and on_disk["error"]


def test_unreadable_video_is_named(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="broken.mp4"):
        _dm(tmp_path, tmp_path).setup("fit")


def test_missing_root_names_option(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data\.root"):
        _dm(tmp_path, tmp_path / "nowhere").setup("fit")


@pytest.mark.parametrize("pairs", [False, True])
def test_fast_dev_run(tmp_path, three_shots, pairs):
    cfg = make_cfg(tmp_path, [*MODEL_ONLY, "data=video_frames", f"data.root={three_shots}",
                              "data.image_size=32", "data.batch_size=4", "data.fps=8",
                              f"data.pairs={pairs}", f"model.temporal.enabled={pairs}",
                              "debug=fdr"])
    metrics, objects = train(cfg)
    assert objects["trainer"].global_step >= 1 and "val/psnr" in metrics
