"""How the film recombinations and generator input shapes compare against the colour original.

    python benchmarks/film_quality.py --ckpt last.ckpt [--clip VIDEO ...] [--crop-16-9]

For each clip (colour, so it has ground truth) and each chroma source:

- ``oracle``: the original's own ab, downscaled to the generator's input size (what a perfect
  model would give): isolates what the recombination itself loses;
- ``model``: the checkpoint's prediction from the luma alone;

the frame is rebuilt with ``lab`` (full-resolution L + ab -> RGB) and with ``yuv`` (decoded Y'
kept, Cb/Cr converted at the generator's size, ``net``, or at chroma resolution, ``planes``;
shown as a player would: swscale with the stream's matrix),
each with the generator input kept at the frame's aspect ratio (``keep``) or squashed to a
square (``square``). PSNR (RGB, dB) and mean CIEDE2000 against the original, before encoding.

``--photos DIR`` measures the same two recombinations on colour photos (Y' of BT.601 full
range, as JPEG stores it; chroma at half resolution, then Y'CbCr -> RGB at full size), with
the time each takes per photo.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorgan.color import rgb_to_lab_norm, yuv_to_rgb
from colorgan.colorize.colorizer import Colorizer
from colorgan.metrics import rgb_ciede2000
from colorgan.video.io import ColourTags, probe, read_frames, to_rgb

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIPS = [SHARED / "videos" / n for n in ("fire2.mp4", "test.webm", "realshort.mp4")]
SOURCES = ("oracle", "model")
RECOMBINES = ("lab", "yuv net", "yuv planes")


def crop_16_9(src: Path, dst: Path) -> Path:
    """Centre 16:9 crop of a narrower colour clip (x264 crf 12: near-lossless) -> ``dst``."""
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        s = i.streams.video[0]
        rate = s.average_rate or 25
        w, h = s.codec_context.width, s.codec_context.height
        nh = (w * 9 // 16) // 2 * 2
        top = (h - nh) // 4 * 2  # even, so the 4:2:0 chroma planes stay aligned
        out = o.add_stream("libx264", rate=rate)
        out.width, out.height, out.pix_fmt, out.options = w, nh, "yuv420p", {"crf": "12"}
        for frame in i.decode(s):
            rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[top:top + nh])
            for packet in out.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                o.mux(packet)
        for packet in out.encode():
            o.mux(packet)
    return dst


def yuv_frame_rgb(y: np.ndarray, uv: np.ndarray, tags: ColourTags) -> np.ndarray:
    """Y (H, W) + Cb, Cr (2, H/2, W/2) -> RGB (H, W, 3) as a player shows it."""
    h, w = y.shape
    arr = np.concatenate([y.ravel(), uv[0].ravel(), uv[1].ravel()]).reshape(h * 3 // 2, w)
    return to_rgb(av.VideoFrame.from_ndarray(arr, format="yuv420p"), tags)


def evaluate(clip: Path, c: Colorizer, source: str, recombine: str, max_frames: int | None,
             ) -> dict[str, float]:
    tags = probe(clip).tags
    recombine, _, c.chroma_at = recombine.partition(" ")  # "yuv net" / "yuv planes"
    psnr, de, n, seconds = [], [], 0, 0.0
    for f in read_frames(clip, max_frames, planes=True):
        rgb = to_rgb(av.VideoFrame.from_ndarray(  # the original, decoded with its own tags
            np.concatenate([p.ravel() for p in f.yuv]).reshape(-1, f.yuv[0].shape[1]),
            format="yuv420p"), tags)
        real = torch.from_numpy(rgb).permute(2, 0, 1)[None]  # (1, 3, H, W) uint8
        t0 = time.perf_counter()
        y = torch.from_numpy(np.ascontiguousarray(f.yuv[0]))[None, None]
        prep = c.prepare_luma(y, tags.full_range) if recombine == "yuv" else c.prepare(real)
        if source == "oracle":
            small = F.interpolate(real.float() / 255, size=prep.real_A.shape[-2:],
                                  mode="bilinear", antialias=True, align_corners=False)
            ab = rgb_to_lab_norm(small.clamp(0, 1))[1]  # (1, 2, h, w)
        else:
            ab = c.predict_ab(prep.real_A)
        if recombine == "yuv":
            uv = c.finish_planes(prep, ab, tags.matrix, tags.full_range)[0].numpy()
            seconds += time.perf_counter() - t0
            fake = torch.from_numpy(yuv_frame_rgb(f.yuv[0], uv, tags)).permute(2, 0, 1)[None]
        else:
            fake = c.finish(prep.L_full, ab)
            seconds += time.perf_counter() - t0
        fake_f, real_f = fake.float() / 255, real.float() / 255
        psnr.append(float(10 * torch.log10(1 / F.mse_loss(fake_f, real_f).clamp_min(1e-10))))
        de.append(float(rgb_ciede2000(fake_f, real_f).mean()))
        n += 1
    return {"psnr": float(np.mean(psnr)), "de": float(np.mean(de)), "ms": 1000 * seconds / n,
            "frames": n}


def photo_yuv(c: Colorizer, rgb: torch.Tensor, ab_of) -> torch.Tensor:
    """uint8 RGB (1, 3, H, W) -> colorized RGB float via Y' kept + Cb/Cr at half resolution."""
    x = rgb.float()
    y = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).round()[:, None]  # JPEG's Y'
    prep = c.prepare_luma(y, full_range=True)
    uv = c.finish_planes(prep, ab_of(prep), "bt601", True)  # (1, 2, H/2, W/2)
    uv = F.interpolate(uv.float(), size=y.shape[-2:], mode="bilinear", align_corners=False)
    return yuv_to_rgb(y, uv, "bt601", True)


def photos(folder: Path, c: Colorizer, limit: int) -> None:
    from PIL import Image

    files = sorted(folder.rglob("*.jpg"))[:limit]
    print(f"\n{len(files)} photos from {folder}\n\n| chroma | recombine | PSNR (dB) | "
          "CIEDE2000 | ms/photo |\n|---|---|---|---|---|")
    for source in ("oracle", "model"):
        for recombine in ("lab", "yuv net", "yuv planes"):
            c.chroma_at = recombine.partition(" ")[2]
            psnr, de, seconds = [], [], 0.0
            for path in files:
                rgb = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy())
                real = rgb.permute(2, 0, 1)[None]  # (1, 3, H, W)
                real_f = real.float() / 255

                def ab_of(prep, source=source, real_f=real_f):
                    if source == "model":
                        return c.predict_ab(prep.real_A)
                    small = F.interpolate(real_f, size=prep.real_A.shape[-2:], mode="bilinear",
                                          antialias=True, align_corners=False)
                    return rgb_to_lab_norm(small.clamp(0, 1))[1]

                t0 = time.perf_counter()
                if c.chroma_at == "":
                    prep = c.prepare(real)
                    fake = c.finish(prep.L_full, ab_of(prep)).float() / 255
                else:
                    fake = photo_yuv(c, real, ab_of)
                seconds += time.perf_counter() - t0
                psnr.append(float(F.mse_loss(fake, real_f)))  # PSNR of the mean MSE below
                de.append(float(rgb_ciede2000(fake, real_f).mean()))
            print(f"| {source} | {recombine} | {-10 * np.log10(np.mean(psnr)):.2f} | {np.mean(de):.2f} | "
                  f"{1000 * seconds / len(files):.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--clip", type=Path, action="append", default=None)
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--photos", type=Path, default=None, help="folder of colour .jpg photos")
    ap.add_argument("--max-photos", type=int, default=200)
    ap.add_argument("--crop-16-9", action="store_true",
                    help="measure narrower clips on their centre 16:9 crop (where the aspect "
                         "ratio matters for unet_64: 4:3 rounds to the square either way)")
    ap.add_argument("--source", choices=SOURCES, action="append", default=None,
                    help="only these chroma sources (default: both)")
    ap.add_argument("--recombine", choices=RECOMBINES, action="append", default=None,
                    help="only these recombinations (default: all three)")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    if a.photos is not None:
        photos(a.photos, Colorizer.from_checkpoint(a.ckpt, "cpu"), a.max_photos)
        return
    print("| clip | chroma | input | recombine | frames | PSNR (dB) | CIEDE2000 | ms/frame |\n"
          "|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="film_quality_") as tmp_dir:
        tmp = Path(tmp_dir)
        for clip in a.clip or CLIPS:
            info = probe(clip)
            if a.crop_16_9 and info.width / info.height < 1.7:
                clip = crop_16_9(clip, tmp / f"{clip.stem}_16_9.mp4")
                info = probe(clip)
            for source in a.source or SOURCES:
                for resize in ("keep", "square"):
                    c = Colorizer.from_checkpoint(a.ckpt, "cpu", resize=resize)
                    size = "x".join(map(str, c.net_size(info.height, info.width)))
                    for recombine in a.recombine or RECOMBINES:
                        r = evaluate(clip, c, source, recombine, a.max_frames)
                        print(f"| {clip.name} {info.width}x{info.height} | {source} | {resize} "
                              f"{size} | {recombine} | {r['frames']} | {r['psnr']:.2f} | "
                              f"{r['de']:.2f} | {r['ms']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
