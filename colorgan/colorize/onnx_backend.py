"""``colorgan colorize --backend onnx --model model.onnx``: the Colorizer with its network call
run by onnxruntime (https://onnxruntime.ai) instead of the PyTorch generator.

The pre/post-processing is the Colorizer's own (:mod:`colorgan.colorize.colorizer`): only the
``netG`` callable changes. What the graph does not hold is read from the sidecar
``model.onnx.json`` that ``colorgan export`` writes next to it (:mod:`colorgan.colorize.export`).
Nothing here imports ``colorgan.models``, Lightning or Hydra; torch is still used for the colour
conversion and resizing around the network (``colorgan.color``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from colorgan.color import check_chroma_center, check_chroma_gain
from colorgan.colorize.colorizer import CheckpointError, Colorizer
from colorgan.predictor import HINT_MIX, check_hint_mix

FORMAT = "colorgan-onnx"
FORMAT_VERSION = 1
REQUIRED = ("onnx_sha256", "color_space", "image_size", "size_multiple", "temporal",
            "chroma_gain", "chroma_center", "in_graph")  # what load_onnx_colorizer reads


def sidecar_path(model: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json`` (the settings the graph does not hold)."""
    model = Path(model)
    return model.with_name(model.name + ".json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise CheckpointError("--backend onnx needs onnxruntime: pip install onnxruntime "
                              "(or pip install \"colorgan[export]\").") from None
    return onnxruntime


def read_sidecar(model: Path) -> dict:
    """The sidecar of ``model``, checked: it exists, is colorgan's and describes this file."""
    side = sidecar_path(model)
    if not side.is_file():
        raise CheckpointError(f"--model {model}: its settings file {side} is missing; export "
                              "again with `colorgan export --ckpt CKPT -o "
                              f"{model}`, which writes both.")
    try:
        meta = json.loads(side.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{side}: not readable JSON ({e}); export the model again.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{side}: not a colorgan ONNX settings file (no \"format\": "
                              f"\"{FORMAT}\"); export the model again.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{side}: format_version {meta.get('format_version')!r}, this "
                              f"colorgan reads {FORMAT_VERSION}; export the model again.")
    missing = [k for k in REQUIRED if k not in meta]
    if missing or not isinstance(meta["in_graph"], dict):
        raise CheckpointError(f"{side}: {', '.join(missing) or 'in_graph'} missing or invalid; "
                              "export the model again.")
    if meta.get("onnx_sha256") != file_sha256(model):
        raise CheckpointError(f"--model {model} is not the file {side} was written for (its "
                              "SHA-256 differs); export again so both match.")
    return meta


class OnnxNet:
    """An onnxruntime session called like the generator: torch (B, C_in, h, w) float32 ->
    torch (B, C_out, h, w) float32 on the input's device. ``threads``: onnxruntime's own
    intra-op pool (None: its default, one per core; torch.set_num_threads does not apply)."""

    def __init__(self, model: Path, meta: dict, device: torch.device,
                 threads: int | None = None) -> None:
        ort = import_onnxruntime()
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise CheckpointError(f"--device {device} with --backend onnx: this onnxruntime "
                                      "has no CUDA provider; pip install onnxruntime-gpu, or "
                                      "use --device cpu.")
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(model), options, providers=providers)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise CheckpointError(f"--model {model}: onnxruntime cannot load it "
                                  f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                                  "export it again with `colorgan export`.") from None
        self.input = self.session.get_inputs()[0].name
        self.size_multiple = int(meta.get("size_multiple", 1))

    def to(self, device) -> OnnxNet:  # the Colorizer moves its net; the session stays put
        return self

    def eval(self) -> OnnxNet:
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feed = np.ascontiguousarray(x.detach().float().cpu().numpy())  # (B, C_in, h, w)
        out = self.session.run(None, {self.input: feed})[0]  # (B, C_out, h, w)
        return torch.from_numpy(out).to(x.device)


def load_onnx_colorizer(model: str | Path, device: str | None = None, precision: str = "auto",
                        resize: str = "keep", flip: bool | None = None,
                        temperature: float | None = None, threads: int | None = None) -> Colorizer:
    """A Colorizer whose network is ``model`` run by onnxruntime, set up from its sidecar.
    ``flip``, ``temperature`` (None: as exported) must match what the graph holds (a graph
    exported with one-pixel shifts, since retired, keeps them inside)."""
    from colorgan.colorize.colorizer import pick_device

    model = Path(model)
    if not model.is_file():
        raise CheckpointError(f"--model {model}: no such file. Write one with "
                              f"`colorgan export --ckpt last.ckpt -o {model}`.")
    if precision not in ("auto", "fp32"):
        raise ValueError(f"--precision {precision} with --backend onnx: the exported graph is "
                         "fp32; leave --precision out.")
    meta = read_sidecar(model)
    _check_in_graph(meta["in_graph"], flip, temperature, model)
    if device in (None, "", "auto"):  # the GPU only where this onnxruntime can use it
        cuda = "CUDAExecutionProvider" in import_onnxruntime().get_available_providers()
        device = "cuda" if cuda and torch.cuda.is_available() else "cpu"
    dev = pick_device(device)
    net = OnnxNet(model, meta, dev, threads)
    c = Colorizer(net, meta["color_space"], meta["image_size"], meta["temporal"], dev, "fp32",
                  resize)
    c.pair_fps = meta.get("pair_fps")
    side = sidecar_path(model)
    c.hints = bool(meta.get("hints", False))  # point planes and a palette in the input
    if c.hints:
        c.predictor.hint_mix = check_hint_mix(meta.get("hint_mix", HINT_MIX), f"{side}: hint_mix")
    c.chroma_gain = check_chroma_gain(meta["chroma_gain"], f"{side}: chroma_gain")
    c.chroma_center = check_chroma_center(meta["chroma_center"], f"{side}: chroma_center")
    c.weights = meta["in_graph"]["weights"]
    c.flip = False  # inside the graph (meta["in_graph"])
    return c


def _check_in_graph(meta_in_graph: dict, flip: bool | None, temperature: float | None,
                    model: Path) -> None:
    """--flip, --temperature are fixed inside an ONNX graph: a different value
    asks for a new export (the same value is accepted)."""
    asked = {"flip": (flip, "--flip" if flip else "--no-flip"),
             "temperature": (temperature, f"--temperature {temperature}")}
    for key, (value, option) in asked.items():
        have = meta_in_graph.get(key)
        if value is None or value == have:
            continue
        if key == "temperature" and have is None:
            raise ValueError(f"{option}: {model} predicts colour directly; a temperature needs "
                             "a model trained with model.classification.enabled=true.")
        raise ValueError(f"{option}: {model} has {key}={have} inside its graph; export again "
                         f"with `colorgan export ... {option}` to change it.")


__all__ = ["FORMAT", "FORMAT_VERSION", "OnnxNet", "file_sha256",
           "load_onnx_colorizer", "read_sidecar", "sidecar_path"]
