"""Scene cuts and temporal modes: the cut is found at the right frame, the dependent model's
previous-frame input is zero right after it, smoothing resets there, and training on frame
pairs feeds the previous chroma as configured."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_video_helpers import ckpt, ckpt_dependent, make_video, scene_frames  # noqa: F401

from colorgan.color import ColorSpace
from colorgan.colorize.cli import scenes_main
from colorgan.colorize.colorizer import CheckpointError, Colorizer
from colorgan.colorize.films import colorize_stream, colorize_video
from colorgan.colorize.temporal import TemporalColorizer
from colorgan.models.gan_module import ColorizationGAN
from colorgan.scenes import find_cuts
from colorgan.video.io import read_frames

CUT = 7


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    """Frames 0-6: a bright pan; frames 7-13: another scene, much darker (a hard cut)."""
    frames = scene_frames(CUT, 11) + scene_frames(7, 12, dark=True)
    return make_video(tmp_path_factory.mktemp("cut") / "cut.mp4", frames, rate=25)


def test_cut_found_at_the_right_frame(cut_video, capsys):
    assert find_cuts(cut_video) == [(CUT, pytest.approx(CUT / 25))]
    assert scenes_main([str(cut_video)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["frame\ttime_s", f"{CUT}\t{CUT / 25:.3f}"]


def test_dependent_input_is_zero_at_start_and_after_cut(ckpt_dependent, cut_video, tmp_path):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt_dependent, device="cpu")
    assert c.temporal and c.netG.down[0].in_channels == 3
    seen: list[torch.Tensor] = []
    c.netG.register_forward_pre_hook(lambda m, args: seen.append(args[0][:, 1:].clone()))
    r = colorize_video(cut_video, tmp_path / "dep.mp4", c, temporal="dependent", batch_size=4,
                       progress=False)
    assert r.cuts == [CUT] and len(seen) == 14  # one call per frame, across batches of 4
    zero = [i for i, prev in enumerate(seen) if prev.abs().max() == 0]
    assert zero == [0, CUT]


def test_dependent_pair_spacing_is_used_at_colorize_time(ckpt_dependent, cut_video, tmp_path):  # noqa: F811
    """Trained on pairs sampled at 8 fps, a 25 fps film shows each frame the colour it gave
    the frame 3 back (the scene's first frame while the scene is younger)."""
    c = Colorizer.from_checkpoint(ckpt_dependent, device="cpu")
    assert c.pair_fps is None  # trained on synthetic consecutive pairs: 1 frame back
    assert TemporalColorizer(c, "dependent", rate=25).frame_step == 1
    c.pair_fps = 8.0           # as written by data=video_frames data.fps=8
    assert TemporalColorizer(c, "dependent", rate=25).frame_step == 3
    assert TemporalColorizer(c, "dependent", rate=25, frame_step=2).frame_step == 2
    with pytest.raises(ValueError, match="--frame-step 0"):
        TemporalColorizer(c, "dependent", frame_step=0)
    seen, given = [], []
    c.netG.register_forward_pre_hook(lambda m, args: seen.append(args[0][:, 1:].clone()))
    c.netG.register_forward_hook(lambda m, args, out: given.append(out[:, :2].clone()))
    colorize_video(cut_video, tmp_path / "dep.mp4", c, temporal="dependent", batch_size=4,
                   progress=False)
    assert len(seen) == 14
    for t in range(14):
        start = 0 if t < CUT else CUT
        if t == start:
            assert seen[t].abs().max() == 0
        else:
            assert torch.equal(seen[t], given[max(start, t - 3)].float())


def test_smooth_resets_at_cut_and_blends_within_a_scene(ckpt, cut_video):  # noqa: F811
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    frames = list(read_frames(cut_video))
    ind = torch.cat([f for _, f, _ in colorize_stream(frames, TemporalColorizer(c), 5)])
    smooth_tc = TemporalColorizer(c, "smooth", strength=0.8)
    smo = torch.cat([f for _, f, _ in colorize_stream(frames, smooth_tc, 5)])
    assert smooth_tc.cuts == [CUT]
    assert torch.equal(smo[0], ind[0]) and torch.equal(smo[CUT], ind[CUT])  # reset
    assert not torch.equal(smo[CUT + 2], ind[CUT + 2])  # blended with earlier frames
    step = lambda x: (x[1:CUT].float() - x[:CUT - 1].float()).abs().mean()
    assert step(smo) <= step(ind)  # smoothing never adds frame-to-frame change


def test_modes_must_match_generator_channels(ckpt, ckpt_dependent):  # noqa: F811
    plain = Colorizer.from_checkpoint(ckpt, device="cpu")
    dep = Colorizer.from_checkpoint(ckpt_dependent, device="cpu")
    with pytest.raises(CheckpointError, match="3 input channels"):
        TemporalColorizer(plain, "dependent")
    with pytest.raises(CheckpointError, match="--temporal dependent"):
        TemporalColorizer(dep, "smooth")
    with pytest.raises(ValueError, match="--strength"):
        TemporalColorizer(plain, "smooth", strength=1.5)


def _pairs_batch(b: int = 4, size: int = 32) -> dict:
    frames = [scene_frames(2, s, h=size, w=size) for s in range(b)]
    to = lambda k: torch.stack([torch.from_numpy(np.ascontiguousarray(f[k])).permute(2, 0, 1)
                                for f in frames]).float() / 255
    return {"rgb": to(1), "prev_rgb": to(0), "has_prev": torch.tensor([True, False, True, True])}


@pytest.mark.parametrize("source", ["gt", "self"])
def test_training_prev_input_follows_prev_source(source):
    netG = {"_target_": "colorgan.models.unet.UNetGenerator", "num_downs": 5, "ngf": 8}
    m = ColorizationGAN(netG, adversarial=False, temporal={"enabled": True, "prev_source": source})
    m.train()
    batch = _pairs_batch()
    real_A, _, g_in = m.prepare_batch(batch)
    assert g_in.shape == (4, 3, 32, 32) and torch.equal(g_in[:, :1], real_A)
    prev = g_in[:, 1:]
    assert prev[1].abs().max() == 0  # has_prev False: the first frame of a shot
    gt_prev = ColorSpace("lab").encode(batch["prev_rgb"])[1]
    if source == "gt":
        assert torch.allclose(prev[[0, 2, 3]], gt_prev[[0, 2, 3]])
    else:  # the model's own colorization of the previous frame, not the ground truth
        assert not torch.allclose(prev[[0, 2, 3]], gt_prev[[0, 2, 3]], atol=1e-3)
        assert prev.abs().max() <= 1.0
    m.eval()  # validation always uses the ground truth's chroma
    assert torch.allclose(m.prepare_batch(batch)[2][[0, 2, 3], 1:], gt_prev[[0, 2, 3]])


def test_known_cuts_replace_the_streaming_detector(ckpt, cut_video):  # noqa: F811
    """A first-pass cut list (colorize --scene-detector) decides the scene starts, not the
    luminance histograms: the smoothing resets at the given frame and not at the real cut."""
    c = Colorizer.from_checkpoint(ckpt, device="cpu")
    frames = list(read_frames(cut_video))
    ind = torch.cat([f for _, f, _ in colorize_stream(frames, TemporalColorizer(c), 5)])
    tc = TemporalColorizer(c, "smooth", strength=0.8, known_cuts=[3])
    smo = torch.cat([f for _, f, _ in colorize_stream(frames, tc, 5)])
    assert tc.cuts == [3]
    assert torch.equal(smo[3], ind[3]) and not torch.equal(smo[CUT], ind[CUT])
