"""The film recipes: experiment=films_reference / films_dependent, and photo pairs with simulated
camera motion (data=folder data.pairs=true) that a dependent film generator trains on."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from conftest import make_cfg
from PIL import Image
from test_video_helpers import make_video, scene_frames

from colorgan.colorize.colorizer import Colorizer
from colorgan.colorize.films import colorize_video
from colorgan.data.motion import NO_PREV, simulated_pairs, simulated_previous
from colorgan.data.synthetic import render_scene


def test_the_film_recipes_compose_with_their_data_in_shared(tmp_path):
    ref = make_cfg(tmp_path, ["experiment=films_reference"])
    assert ref.data.root == "../shared/data/images/scenes" and ref.model.hints.enabled
    assert ref.data.test_fraction == 0.1 and ref.trainer.max_epochs == 50
    dep = make_cfg(tmp_path, ["experiment=films_dependent"])
    assert dep.data.root == "../shared/data/images/scenes" and dep.data.pairs
    assert dep.model.temporal.enabled and dep.model.temporal.prev_source == "self"
    assert dep.model.rec_loss == "l1" and not dep.model.adversarial  # scenes64_best's recipe


def test_a_simulated_previous_frame_is_the_photo_moved_a_little():
    rgb = torch.stack([render_scene(64, s) for s in range(8)])  # (8, 3, 64, 64)
    prev = simulated_previous(rgb, torch.Generator().manual_seed(0))
    assert prev.shape == rgb.shape and 0 <= float(prev.min()) and float(prev.max()) <= 1
    moved = (prev - rgb).abs().mean((1, 2, 3))  # (8,): every frame moved, none replaced
    other = (prev - rgb.roll(1, 0)).abs().mean((1, 2, 3))
    assert bool((moved > 1e-3).all()) and bool((moved < other).all())
    val = [simulated_pairs(rgb, training=False) for _ in range(2)]  # validation: reproducible
    assert torch.equal(val[0]["prev_rgb"], val[1]["prev_rgb"]) and bool(val[0]["has_prev"].all())
    big = torch.rand(2000, 3, 8, 8)
    train = [simulated_pairs(big, training=True) for _ in range(2)]  # training: new draws
    assert not torch.equal(train[0]["prev_rgb"], train[1]["prev_rgb"])
    share = 1 - float(train[0]["has_prev"].float().mean())  # shots' first frames
    assert abs(share - NO_PREV) < 0.03


def test_a_dependent_generator_trains_on_photo_pairs_and_colours_a_film(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for s in range(24):
        img = (render_scene(48, s).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(img).save(photos / f"p{s:02d}.png")
    out = tmp_path / "run"
    cfg = make_cfg(out, [
        "experiment=films_dependent", f"data.root={photos}", "data.image_size=32",
        "data.batch_size=4", "data.num_workers=0", "data.val_fraction=0.25",
        "data.test_fraction=0.15", "data.cache_dir=null", "model/netG=unet_32",
        "model.netG.ngf=8", "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
        "callbacks.model_summary=null", "callbacks.sample_grid=null", "logger=csv"])
    from colorgan.train import train
    train(cfg)
    ckpt = Path(json.loads((out / "run" / "metrics.json").read_text())["last_checkpoint"])
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    assert c.temporal  # it takes the previous frame's colour
    src = make_video(tmp_path / "in.mp4", scene_frames(6, 2))
    r = colorize_video(src, tmp_path / "out.mp4", c, "dependent", progress=False)
    assert r.frames == 6
