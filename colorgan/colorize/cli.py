"""``colorgan colorize``, ``colorgan scenes`` and ``colorgan eval-video``.

    colorgan colorize photo.jpg -o photo_color.png --ckpt last.ckpt
    colorgan colorize photos/ -o photos_color/ --ckpt last.ckpt
    colorgan colorize film.mp4 -o film_color.mp4 --ckpt last.ckpt --temporal smooth
    colorgan colorize photo.jpg -o photo_color.png --backend onnx --model model.onnx
    colorgan colorize photo.jpg -o photo_color.png --ckpt hints.ckpt --hints photo.hints.json
    colorgan scenes film.mp4
    colorgan eval-video clip.mp4 --ckpt last.ckpt --temporal independent smooth
    colorgan eval-video clip.mp4 --ckpt hints.ckpt --reference-frames first
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import warnings
from functools import partial
from pathlib import Path

from colorgan.color import CHROMA_CENTERS
from colorgan.colorize.carry import FLOW_PRESETS, TAU
from colorgan.colorize.colorizer import RESIZE_MODES, TEMPORAL_MODES, CheckpointError, Colorizer
from colorgan.colorize.hint_options import (
    add_hint_args,
    check_hint_args,
    check_hint_model,
    photo_hints,
)
from colorgan.media import VIDEO_EXTS, InputError, input_kind
from colorgan.scenes import DEFAULT_THRESHOLD, DETECTORS, find_cuts, make_detector
from colorgan.utils.atomic import OutputExistsError

USER_ERRORS = (CheckpointError, InputError, OutputExistsError, ValueError, OSError)
#                         no model code (tests/test_onnx_export.py checks they agree)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ckpt", default=None, help="a .ckpt saved by `colorgan train`")
    p.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                   help="torch: the checkpoint's PyTorch generator (default); onnx: a model "
                        "written by `colorgan export`, run by onnxruntime (--model)")
    p.add_argument("--model", type=Path, default=None,
                   help="--backend onnx: the .onnx file (its settings: MODEL.onnx.json)")
    p.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1 ...")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="autocast dtype; auto = bf16 on GPU, fp32 on CPU")
    p.add_argument("--batch-size", type=int, default=8, help="frames per model call")
    p.add_argument("--strength", type=float, default=0.6,
                   help="--temporal smooth: weight of the previous frame's chroma, in [0, 1)")
    p.add_argument("--scene-threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="histogram distance above which a frame starts a new scene")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--resize", default="keep", choices=RESIZE_MODES,
                   help="generator input: keep the aspect ratio (default) or squash to a square")
    p.add_argument("--temperature", type=float, default=None,
                   help="classification models: annealed-mean temperature (1 = mean, safe and "
                        "dull; ~0.4 = vivid); default: the checkpoint's")
    p.add_argument("--chroma-gain", type=float, default=None, metavar="G",
                   help="multiply the predicted colour's chroma by G (1.25 = more saturated, "
                        "0.8 = more muted, 0 = gray), one gain for every photo; default: the checkpoint's "
                        "model.chroma_gain")
    p.add_argument("--chroma-center", default=None, choices=CHROMA_CENTERS,
                   help="what --chroma-gain scales about: zero = gray (saturation), image = each "
                        "photo's or frame's mean colour (vibrance: keeps its overall cast); "
                        "default: the checkpoint's model.chroma_center")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="average with the horizontally flipped prediction (twice the model "
                        "cost); default: the checkpoint's model.tta_flip")


def _load_colorizer(a: argparse.Namespace) -> Colorizer:
    """The checkpoint's Colorizer with the command line's --temperature, --flip,
    --chroma-gain and --chroma-center applied (--backend onnx: the model's Colorizer; flip and
    temperature are inside its graph)."""
    if a.backend == "onnx":
        from colorgan.colorize.onnx_backend import load_onnx_colorizer
        colorizer = load_onnx_colorizer(a.model, a.device, a.precision, a.resize, a.flip,
                                        a.temperature)
    else:
        colorizer = Colorizer.from_checkpoint(a.ckpt, a.device, a.precision, a.resize)
        colorizer.set_temperature(a.temperature)
        if a.flip is not None:
            colorizer.flip = a.flip
    if a.chroma_gain is not None:
        colorizer.set_chroma_gain(a.chroma_gain, "--chroma-gain")
    if a.chroma_center is not None:
        colorizer.chroma_center = a.chroma_center
    return colorizer


def _check_max_frames(n: int | None) -> None:
    if n is not None and n < 1:
        raise ValueError(f"--max-frames {n}: must be >= 1 (leave it out for the whole video).")


def _check_model_args(a: argparse.Namespace) -> None:
    """--ckpt / --backend / --model agree; ``a.source``: the option naming the model (messages)."""
    if a.backend == "onnx":
        if a.ckpt is not None:
            raise ValueError(f"--ckpt {a.ckpt} with --backend onnx: the ONNX model replaces the "
                             "checkpoint; pass only --model MODEL.onnx (or drop --backend onnx).")
        if a.model is None:
            raise ValueError("--backend onnx needs --model MODEL.onnx, written by "
                             "`colorgan export --ckpt CKPT -o MODEL.onnx`.")
    elif a.model is not None:
        raise ValueError(f"--model {a.model} is read by --backend onnx; add --backend onnx, or "
                         "pass a checkpoint with --ckpt.")
    elif a.ckpt is None:
        raise ValueError("--ckpt CKPT is required (a .ckpt saved by `colorgan train`), or "
                         "--backend onnx --model MODEL.onnx.")
    a.source = f"--model {a.model}" if a.backend == "onnx" else f"--ckpt {a.ckpt}"
    if a.batch_size < 1:
        raise ValueError(f"--batch-size {a.batch_size}: must be >= 1.")
    _check_max_frames(a.max_frames)


def _sigterm(signum, frame) -> None:
    """SIGTERM (timeout, schedulers, container stops) ends a run like Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _run(fn, argv: list[str]) -> int:
    """Run a subcommand: user errors become one line on stderr and exit code 1."""
    plain = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # type: ignore
    old_term = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return fn(argv)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        from colorgan.colorize.photos import FolderInterrupted
        how = str(e) if str(e).startswith("signal ") else "Ctrl-C"
        done = str(e) if isinstance(e, FolderInterrupted) else \
            "nothing was written at the output path."
        print(f"interrupted ({how}): {done}", file=sys.stderr)
        return 143 if how == "signal SIGTERM" else 130
    finally:
        signal.signal(signal.SIGTERM, old_term)
        warnings.formatwarning = plain


# ------------------------------------------------------------------ colorize
def _carry_args(p: argparse.ArgumentParser) -> None:
    """How colour is carried from reference frames (colorize and eval-video)."""
    p.add_argument("--carry-tau", type=float, default=TAU,
                   help="--reference-frames: the lightness disagreement (of 1) at which colour "
                        "carried by the optical flow is judged lost")
    p.add_argument("--carry-fill", action="store_true",
                   help="--reference-frames: where the carried colour is lost, the generator's "
                        "colour (a hint checkpoint: steered by the reference) takes over")


def _check_carry_args(a: argparse.Namespace) -> None:
    if not a.carry_tau > 0:
        raise ValueError(f"--carry-tau {a.carry_tau}: must be > 0 (default {TAU}).")


def _colorize(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="colorgan colorize",
                                description="Colorize a photo, a folder of photos or a video.")
    p.add_argument("input", type=Path, help="image, folder of images, or video")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output image / folder / video (the extension picks the container)")
    _model_args(p)
    p.add_argument("--temporal", default="independent", choices=TEMPORAL_MODES)
    p.add_argument("--codec", default=None, help="video encoder: libx264 (default; webm: "
                   "libvpx-vp9), libx265, libvpx-vp9, h264_nvenc/hevc_nvenc (NVIDIA GPU)")
    p.add_argument("--crf", type=int, default=18,
                   help="quality for x264/x265/vp9, cq for nvenc (lower = better)")
    p.add_argument("--preset", default=None, help="encoder speed preset: x264/x265 ultrafast.."
                   "veryslow, nvenc p1..p7, vp9 realtime/good/best (default: the encoder's)")
    p.add_argument("--frame-step", type=int, default=None,
                   help="--temporal dependent: show the colour of the frame this many frames "
                        "back (default: from the checkpoint's training pair spacing, else 1)")
    p.add_argument("--recombine", default="yuv", choices=["yuv", "lab"],
                   help="films: yuv keeps the decoded luma and computes chroma only (default); "
                        "lab recombines full-resolution L with ab through RGB")
    p.add_argument("--keyframe-interval", default="auto",
                   help="films (yuv): run the generator on every k-th frame of a shot and on "
                        "every cut, blending the chroma in between (1 = every frame; auto: 1 on "
                        "a GPU or with --temporal dependent, 4 on a CPU)")
    p.add_argument("--keyframe-hold", action="store_true",
                   help="frames between keyframes keep the last keyframe's chroma (no "
                        "lookahead blend)")
    p.add_argument("--scene-detector", default="colorgan", choices=DETECTORS,
                   help="films: colorgan finds cuts while colorizing (--scene-threshold); a "
                        "PySceneDetect detector (pip install \"colorgan[scenes]\"; adaptive is "
                        "the most accurate, docs/films.md) runs first, one extra decoding pass")
    p.add_argument("--model-threads", default="auto",
                   help="films on a CPU: torch threads while decoding and encoding run "
                        "(auto: a quarter of the cores, at least 1)")
    p.add_argument("--compare", action="store_true",
                   help="write gray | colorized | original (if colour) side by side")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--max-pixels", type=int, default=None,
                   help="photos above this many pixels are skipped as possible decompression "
                        "bombs (default: PIL's limit, about 179 million)")
    add_hint_args(p)
    p.add_argument("--reference-frames", type=Path, default=None, metavar="DIR",
                   help="films: a folder of coloured frames of the film (000120.png = frame "
                        "120, 00-00-05.000.png = at 5 s); each steers its shot (docs/films.md)")
    _carry_args(p)
    p.add_argument("--carry-flow", default="medium", choices=FLOW_PRESETS,
                   help="--reference-frames: the optical flow's preset (fast: a third of the "
                        "flow's time, 0.5 dB less on validation; docs/films.md)")
    a = p.parse_args(argv)
    _check_model_args(a)
    _check_carry_args(a)
    kind = input_kind(a.input)
    palette = check_hint_args(a, kind)  # the hints file and reference, before the model loads
    if kind == "video":
        from colorgan.video.io import check_codec, check_output_container
        if a.output.suffix.lower() not in VIDEO_EXTS:
            raise InputError(f"-o {a.output}: a video needs a video output "
                             f"({', '.join(VIDEO_EXTS)}).")
        check_output_container(a.output)
        check_codec(a.codec)
        make_detector(a.scene_detector)  # a missing extra fails here, before the model loads
    colorizer = _load_colorizer(a)
    check_hint_model(a, colorizer)
    if kind == "video":
        from colorgan.colorize.films import colorize_video
        colorizer.check_mode(a.temporal, a.source)
        r = colorize_video(a.input, a.output, colorizer, a.temporal, a.strength,
                           a.scene_threshold, a.batch_size, a.codec, a.crf, a.compare,
                           a.overwrite, a.max_frames, progress=not a.no_progress,
                           recombine=a.recombine, preset=a.preset, frame_step=a.frame_step,
                           keyframe_interval=a.keyframe_interval,
                           keyframe_blend=not a.keyframe_hold, model_threads=a.model_threads,
                           scene_detector=a.scene_detector,
                           reference_frames=a.reference_frames, reference=palette,
                           carry_tau=a.carry_tau, carry_fill=a.carry_fill,
                           carry_flow=a.carry_flow)
        refs = f", {r.references} reference frames" if a.reference_frames else ""
        print(f"{a.output}: {r.frames} frames in {r.seconds:.1f}s ({r.fps:.1f} frames/s), "
              f"{len(r.cuts)} scene cuts{refs}, temporal={a.temporal}, recombine={r.recombine}")
        return 0
    from colorgan.colorize.photos import colorize_folder, colorize_image, set_max_pixels
    if a.temporal != "independent":
        warnings.warn(f"--temporal {a.temporal} applies to videos; a photo is colorized on its "
                      "own (a film model gets no previous colour, as at a shot's first frame).",
                      stacklevel=1)
    set_max_pixels(a.max_pixels)
    if kind == "image":
        colorize_image(a.input, a.output, colorizer, a.overwrite, photo_hints(a, colorizer),
                       palette)
        print(f"{a.output}: written")
        return 0
    n, errors = colorize_folder(a.input, a.output, colorizer, a.overwrite, not a.no_progress,
                                palette)
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    print(f"{a.output}: {n} images written, {len(errors)} skipped")
    return 1 if errors else 0


# -------------------------------------------------------------------- scenes
def _scenes(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="colorgan scenes",
                                description="Print the scene cuts of a video (frame, seconds).")
    p.add_argument("video", type=Path)
    p.add_argument("--detector", default="colorgan", choices=DETECTORS,
                   help="colorgan's luminance histograms, or PySceneDetect's detectors "
                        "(pip install \"colorgan[scenes]\"; adaptive is the most accurate, "
                        "see docs/films.md)")
    p.add_argument("--threshold", type=float, default=None,
                   help=f"the detector's threshold; colorgan: luminance-histogram distance in "
                        f"(0, 1] (default {DEFAULT_THRESHOLD}); PySceneDetect: its own scale")
    p.add_argument("--min-scene-len", type=int, default=None,
                   help="frames between two cuts (default: colorgan 1, PySceneDetect 15)")
    p.add_argument("--max-frames", type=int, default=None)
    a = p.parse_args(argv)
    _check_max_frames(a.max_frames)
    cuts = find_cuts(a.video, a.threshold, a.min_scene_len, a.max_frames, a.detector)
    print("frame\ttime_s")
    for i, t in cuts:
        print(f"{i}\t{t:.3f}")
    print(f"# {len(cuts)} cuts, {len(cuts) + 1} scenes", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- eval-video
def _eval_video(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="colorgan eval-video",
                                description="Gray out a colour video, colorize it and measure "
                                            "PSNR, SSIM, CIEDE2000, CDC and flicker per mode "
                                            "(a gray row, ab = 0, is always there).")
    p.add_argument("video", type=Path)
    _model_args(p)
    p.add_argument("--temporal", nargs="+", default=["independent"], choices=TEMPORAL_MODES,
                   help="one or more modes; one table row each")
    p.add_argument("--reference-frames", default=None, metavar="first|every:N|DIR",
                   help="also score colour carried from reference frames: first = the true "
                        "colour of each shot's first frame, every:N = of every N-th frame, DIR "
                        "= your coloured frames; adds the rows naive_copy, naive_mean and "
                        "reference, and leaves the reference frames out of every row's scores")
    _carry_args(p)
    p.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    a = p.parse_args(argv)
    _check_model_args(a)
    if a.json is not None and a.json.is_dir():  # before the work, not after it
        raise InputError(f"--json {a.json}: is a folder; give a file name, e.g. "
                         f"{a.json / 'video_metrics.json'}.")
    _check_carry_args(a)
    from colorgan.colorize.eval_references import parse_spec, plan_references
    from colorgan.colorize.film_eval import evaluate_video, format_table
    from colorgan.utils.atomic import write_text_atomic

    if a.reference_frames is not None:
        parse_spec(a.reference_frames)  # a bad value fails before the model loads
    colorizer = _load_colorizer(a)
    for mode in a.temporal:  # fail on a mode/model mismatch before any decoding
        colorizer.check_mode(mode, a.source)
    plan = None if a.reference_frames is None else plan_references(
        a.video, a.reference_frames, a.max_frames, scene_threshold=a.scene_threshold)
    modes = ["gray", *a.temporal] + ([] if plan is None else
                                     ["naive_copy", "naive_mean", "reference"])
    rows = [evaluate_video(a.video, colorizer, m, a.strength, a.scene_threshold, a.batch_size,
                           a.max_frames, plan, a.carry_tau, a.carry_fill) for m in modes]
    print(format_table(rows))
    if a.json is not None:
        try:
            write_text_atomic(a.json, json.dumps(rows, indent=2))
        except OSError as e:  # full disk, read-only folder: name --json, not the temporary file
            raise InputError(f"--json {a.json}: cannot be written ({e.strerror or e}); the "
                             "table above is complete. Pass --json with a writable place.") \
                from None
    return 0


colorize_main, scenes_main = partial(_run, _colorize), partial(_run, _scenes)
eval_video_main = partial(_run, _eval_video)


__all__ = ["colorize_main", "eval_video_main", "find_cuts", "scenes_main"]
