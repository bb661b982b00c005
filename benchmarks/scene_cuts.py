"""Scene-cut accuracy and speed: colorgan's luminance-histogram detector vs PySceneDetect.

    python benchmarks/scene_cuts.py [--thresholds 0.15 0.25 0.35 0.5] [--keep DIR]

Evaluation set (all frames go through a real H.264 encode + decode):

- the real clips in ``../shared/data`` (``videos/*`` and ``bw/chaplin.mp4``): single shots,
  no cut (checked by eye), so every detection there is a false positive;
- clips joined from them at 25 fps and 640x360 with known cut positions: ``hard`` (plain cuts
  between different films), ``similar`` (jump cuts inside the same shot of chaplin.mp4 and a cut
  to the mirrored shot: same histogram, different picture), ``fades`` (a 12-frame cross-dissolve
  and a fade to black and back), ``motion`` (the fast hand-held pan of fire2.mp4, played at 1x
  and 2x, between cuts).

Frames are gray (the use case: black-and-white films); PySceneDetect sees them as BGR gray
with ``luma_only`` and the same downscale its ``SceneManager`` applies. A detection is right
if it lies within +-1 frame of a cut (or anywhere inside a fade, +-1); each true cut is
matched once. Speed counts each detector's own preprocessing from the decoded full frame.
Needs the ``scenes`` extra (PySceneDetect, OpenCV): ``pip install "colorgan[scenes]"``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.scenes import DEFAULT_THRESHOLD, make_detector  # noqa: E402
from colorgan.video.io import read_frames  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = [SHARED / "videos" / n for n in ("fire2.mp4", "realshort.mp4", "test.webm")]
REAL.append(SHARED / "bw" / "chaplin.mp4")
SIZE, FPS = (640, 360), 25


def _resize(rgb: np.ndarray) -> np.ndarray:
    import cv2
    return cv2.resize(rgb, SIZE, interpolation=cv2.INTER_AREA)


def _blend(a: np.ndarray, b: np.ndarray, n: int) -> list[np.ndarray]:
    """n frames dissolving from a to b (neither end included)."""
    return [((1 - w) * a + w * b).round().astype(np.uint8) for w in np.arange(1, n + 1) / (n + 1)]


def joined_clips(src: dict[str, list[np.ndarray]]) -> dict[str, tuple[list, list]]:
    """name -> (frames, truth); truth = [(first, last)] frame spans where a cut is right."""
    ch, te, rs, fi = (src[k] for k in ("chaplin", "test", "realshort", "fire2"))
    black = np.zeros_like(ch[0])

    def build(*parts):
        frames, truth = [], []
        for p in parts:
            if isinstance(p, tuple):          # ("fade", frames): a transition, not a shot
                truth.append((len(frames), len(frames) + len(p[1])))
                frames += p[1]
                continue
            if frames and (not truth or truth[-1][1] != len(frames)):
                truth.append((len(frames), len(frames)))   # hard cut: the new shot's 1st frame
            frames += p
        return frames, truth

    mirror = [f[:, ::-1].copy() for f in ch[50:100]]
    fade_out = [(f * w).astype(np.uint8) for f, w in zip(te[60:70], np.linspace(0.9, 0, 10))]
    fade_in = [(f * w).astype(np.uint8) for f, w in zip(rs[0:10], np.linspace(0, 0.9, 10))]
    return {
        "hard": build(ch[0:40], te[0:40], rs[0:36], fi[0:25], ch[200:241], te[50:94]),
        "similar": build(ch[0:50], ch[150:200], mirror, te[0:45], [f[:, ::-1].copy() for f in te[45:94]]),
        "fades": build(ch[0:50], ("fade", _blend(ch[50], te[20], 12)), te[20:60],
                       ("fade", fade_out + [black] * 3 + fade_in), rs[10:36]),
        "motion": build(fi, ch[0:30], fi[::2] + fi[::-2], rs),
    }


def encode(frames: list[np.ndarray], path: Path) -> Path:
    """H.264 at crf 20, so the detectors see codec noise like in a real film."""
    import av
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "veryfast"})
        st.width, st.height, st.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for f in frames:
            out.mux(st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(st.encode())
    return path


def score(found: list[int], truth: list[tuple[int, int]]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives); tolerance +-1 frame."""
    left, tp = list(truth), 0
    for d in found:
        hit = next((t for t in left if t[0] - 1 <= d <= t[1] + 1), None)
        if hit is not None:
            left.remove(hit)
            tp += 1
    return tp, len(found) - tp, len(left)


def run(name: str, frames: list[np.ndarray]) -> tuple[list[int], float]:
    """``name`` ending in ``+y``: colorgan's detector fed the Y' plane (limited range), as
    the first pass of ``--reference-frames`` reads it, instead of RGB."""
    det = make_detector(name.removesuffix("+y"))
    planes = [(16 + f[..., 0].astype(np.float32) * (219 / 255)).round().astype(np.uint8)
              for f in frames] if name.endswith("+y") else None
    t0 = time.perf_counter()
    if planes is not None:
        found = [i for y in planes for i in det.update_y(y)] + det.flush()
    else:
        found = [i for f in frames for i in det.update(f)] + det.flush()
    return sorted(found), time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.15, 0.25, 0.35, 0.5],
                   help=f"colorgan thresholds to try (default now {DEFAULT_THRESHOLD})")
    p.add_argument("--detectors", nargs="+",
                   default=["pyscenedetect-content", "pyscenedetect-adaptive",
                            "pyscenedetect-histogram", "pyscenedetect-hash"])
    p.add_argument("--keep", type=Path, default=None, help="write the joined clips here")
    a = p.parse_args()
    missing = [str(c) for c in REAL if not c.exists()]
    if missing:
        sys.exit(f"missing real clips {missing}: run from a checkout next to ../shared/data.")
    decoded = {c.name: [f.rgb for f in read_frames(c)] for c in REAL}
    src = {k.split(".")[0]: [_resize(f) for f in v] for k, v in decoded.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clips = {c.name: (decoded[c.name], []) for c in REAL}
        for n, (frames, truth) in joined_clips(src).items():
            path = encode(frames, folder / f"joined_{n}.mp4")
            clips[path.name] = ([f.rgb for f in read_frames(path)], truth)
    for name, (frames, _) in clips.items():  # gray, as a black-and-white film decodes
        clips[name] = ([np.repeat(f.mean(-1, keepdims=True, dtype=np.float32).round()
                                  .astype(np.uint8), 3, -1) for f in frames], clips[name][1])
    n_frames = sum(len(f) for f, _ in clips.values())
    n_cuts = sum(len(t) for _, t in clips.values())
    print(f"{len(clips)} clips, {n_frames} frames, {n_cuts} true cuts "
          f"({', '.join(f'{k}: {len(t)}' for k, (_, t) in clips.items() if t)})\n")
    names = [f"colorgan-{t:g}" for t in a.thresholds] + [f"colorgan-{DEFAULT_THRESHOLD:g}+y"] \
        + a.detectors
    print("| detector | TP | FP | FN | precision | recall | F1 | frames/s | errors (clip: frame) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        tp = fp = fn = 0
        secs, notes = 0.0, []
        for clip, (frames, truth) in clips.items():
            found, s = run(name, frames)
            secs += s
            a_, b_, c_ = score(found, truth)
            tp, fp, fn = tp + a_, fp + b_, fn + c_
            if b_ or c_:
                notes.append(f"{clip.removesuffix('.mp4')}: {found} vs {[t[0] for t in truth]}")
        prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        f1 = 2 * prec * rec / max(prec + rec, 1e-9)
        print(f"| {name} | {tp} | {fp} | {fn} | {prec:.2f} | {rec:.2f} | {f1:.2f} "
              f"| {n_frames / secs:,.0f} | {'; '.join(notes)} |")


if __name__ == "__main__":
    main()
