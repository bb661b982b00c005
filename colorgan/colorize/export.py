"""``colorgan export --ckpt last.ckpt -o model.onnx``: the checkpoint's generator as ONNX.

The graph holds what the checkpoint's inference does inside the network call: the EMA weights
when the checkpoint has them, the flip averaging (``model.tta_flip``,
:func:`colorgan.predictor.flip_average`) and, for colour classification, the
annealed-mean decoding at its temperature. Height, width and batch are dynamic. The rest
(colour space, training size, chroma gain and centre, normalisation) goes to the sidecar
``model.onnx.json`` that :mod:`colorgan.colorize.onnx_backend` reads. Exporter: the TorchScript
one (``torch.onnx.export(dynamo=False)``, torch >= 2.5), opset :data:`DEFAULT_OPSET`.
"""
from __future__ import annotations

import argparse
import inspect
import json
import warnings
from pathlib import Path

import torch

from colorgan.color import AB_SCALE, L_SCALE
from colorgan.colorize.colorizer import CheckpointError, Colorizer
from colorgan.colorize.onnx_backend import FORMAT, FORMAT_VERSION, file_sha256, sidecar_path
from colorgan.data.aspect import keep_aspect_size
from colorgan.predictor import flip_average, hint_channel
from colorgan.utils.atomic import atomic_output, check_output, write_text_atomic

DEFAULT_OPSET = 17  # ONNX 1.12 (2022): onnxruntime >= 1.12; both torch exporters support it
PARITY_TOL = 1e-4   # max abs difference (fp32) between onnxruntime and PyTorch at export
NORMALISATION = {   # what the graph takes and gives (colorgan.color)
    "lab": {"input": f"L / {L_SCALE:g} - 1 (L in [0, 100]), then with a temporal model the "
                     f"previous frame's ab / {AB_SCALE:g}; with a hint model then the hint ab / "
                     f"{AB_SCALE:g}, the hint mask and the palette (colorgan.hints.encode.pack)",
            "output": f"ab / {AB_SCALE:g}",
            "decode": "Lab (D65) to sRGB; a colour outside sRGB keeps its L and hue, its (a, b) "
                      "scaled toward gray to the gamut's edge (colorgan.color.map_into_gamut), "
                      "not clipped per RGB channel"},
    "rgb": {"input": "gray * 2 - 1 (gray in [0, 1])", "output": "rgb * 2 - 1"},
}


class InferenceGraph(torch.nn.Module):
    """netG plus its test-time averaging: (B, C_in, H, W) -> (B, C_out, H, W) float32."""

    def __init__(self, netG: torch.nn.Module, flip: bool) -> None:
        super().__init__()
        self.netG, self.flip = netG, bool(flip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return flip_average(self.netG, x, self.flip)


def _onnx_export(graph: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    axes = {0: "batch", 2: "height", 3: "width"}
    # the TorchScript exporter: the default up to torch 2.8, dynamo=False from 2.9 on
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with warnings.catch_warnings():  # the tracer's notes on shape arithmetic and constant folding
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, (example,), str(path), opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes}, **legacy)


def parity(graph: torch.nn.Module, path: Path, shapes: list[tuple[int, ...]]) -> float:
    """Max abs difference between onnxruntime (CPU) and PyTorch over random inputs of ``shapes``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for shape in shapes:
        x = torch.rand(shape, generator=g) * 2 - 1  # (B, C_in, h, w) in [-1, 1]
        with torch.no_grad():
            ref = graph(x).numpy()
        out = session.run(None, {"input": x.numpy()})[0]
        worst = max(worst, float(abs(out - ref).max()))
    return worst


def export_onnx(ckpt: str | Path, output: str | Path, opset: int = DEFAULT_OPSET,
                flip: bool | None = None, temperature: float | None = None,
                overwrite: bool = False) -> dict:
    """Write ``output`` (ONNX) and its sidecar ``output.json``; return the sidecar's content.
    ``flip``, ``temperature``: None = the checkpoint's."""
    output = Path(output)
    side = sidecar_path(output)
    if output.suffix.lower() != ".onnx":
        raise ValueError(f"-o {output}: the model file must end in .onnx.")
    check_output(output, overwrite)
    check_output(side, overwrite)
    try:
        import onnx
        import onnxruntime  # noqa: F401 - the parity check runs the exported graph
    except ImportError:
        raise CheckpointError("colorgan export needs onnx and onnxruntime: pip install "
                              "\"colorgan[export]\" (onnx, onnxruntime, onnxscript).") from None
    c = Colorizer.from_checkpoint(ckpt, "cpu", "fp32")
    c.set_temperature(temperature)
    c.flip = c.flip if flip is None else bool(flip)
    graph = InferenceGraph(c.netG, c.flip).eval()
    c_in = c.cs.in_channels + (2 if c.temporal else 0) + (-hint_channel() if c.hints else 0)
    # small example shapes (the graph is fully convolutional), a second one for dynamic H, W
    short, m = min(c.image_size, max(c.size_multiple, 64)), c.size_multiple
    h, w = keep_aspect_size(short, short, short, m)
    h2, w2 = keep_aspect_size(short, short * 3 / 2, short, m)
    with atomic_output(output, overwrite) as tmp:
        try:
            _onnx_export(graph, torch.zeros(1, c_in, h, w), tmp, opset)
            onnx.checker.check_model(str(tmp))
        except Exception as e:  # noqa: BLE001 - exporter and checker raise many types
            raise CheckpointError(f"--ckpt {ckpt}: the generator could not be exported to ONNX "
                                  f"({type(e).__name__}: {str(e).splitlines()[0][:300]}).") from None
        diff = parity(graph, tmp, [(1, c_in, h, w), (2, c_in, w2, h2)])
    if not diff <= PARITY_TOL:
        warnings.warn(f"{output}: onnxruntime differs from PyTorch by up to {diff:.2e} "
                      f"(> {PARITY_TOL:g}); check the model before relying on it.", stacklevel=2)
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "opset": opset,
        "onnx_sha256": file_sha256(output), "checkpoint": str(ckpt),
        "color_space": c.cs.mode, "image_size": c.image_size,
        "size_multiple": c.size_multiple, "input_channels": c_in,
        "output_channels": c.cs.out_channels, "normalisation": NORMALISATION[c.cs.mode],
        "temporal": c.temporal, "pair_fps": c.pair_fps,
        "hints": c.hints, "hint_mix": c.predictor.hint_mix,
        "chroma_gain": c.chroma_gain, "chroma_center": c.chroma_center,
        "in_graph": {"weights": c.weights, "flip": c.flip,
                     "temperature": c.netG.temperature if c.supports_temperature else None},
        "parity_max_abs": diff,
    }
    write_text_atomic(side, json.dumps(meta, indent=2) + "\n")
    return meta


def _export(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="colorgan export", description="Write a checkpoint's "
                                "generator as ONNX (dynamic height and width) plus its settings "
                                "file MODEL.onnx.json, for colorgan colorize --backend onnx.")
    p.add_argument("--ckpt", type=Path, required=True, help="a .ckpt saved by `colorgan train`")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                   help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="flip averaging inside the graph; default: the checkpoint's model.tta_flip")
    p.add_argument("--temperature", type=float, default=None,
                   help="classification models: the annealed-mean temperature fixed in the graph; "
                        "default: the checkpoint's")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    a = p.parse_args(argv)
    meta = export_onnx(a.ckpt, a.output, a.opset, a.flip, a.temperature,
                       a.overwrite)
    g = meta["in_graph"]
    print(f"{a.output}: opset {a.opset}, weights={g['weights']}, flip={g['flip']}, "
          f"onnxruntime vs PyTorch max abs diff "
          f"{meta['parity_max_abs']:.1e}; settings in {sidecar_path(a.output)}")
    return 0


def export_main(argv: list[str]) -> int:
    from colorgan.colorize.cli import _run
    return _run(_export, argv)


__all__ = ["DEFAULT_OPSET", "InferenceGraph", "export_main", "export_onnx", "parity"]
