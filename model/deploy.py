"""Export for deployment: the detector plus its input normalisation and the one `decode`, as an
ONNX graph or a TorchScript module that answers class, confidence, box and centre cell.

A deployment has uint8 RGB frames, not ImageNet-normalised float tensors, so that is the input;
the batch axis is dynamic. Both files carry the class names and image size: ONNX in its
`metadata_props`, TorchScript in an extra file, so either travels without its folder.

ONNX uses the TorchScript-based exporter (`dynamo=False`): the dynamo exporter needs onnxscript,
which a deployment host should not need, and this graph has no dynamic control flow.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import torch
from spacehpo.model.decode import decode
from spacehpo.model.errors import ModelError
from spacehpo.model.infer import LoadedModel, load_model
from spacehpo.model.network import IMAGENET_MEAN, IMAGENET_STD
from spacehpo.model.onnx_predict import CLASS_NAMES, IMAGE_SIZE, INPUT, OUTPUTS
from torch import nn

# ONNX 1.12's (2022): native LayerNormalization (ConvNeXt), and read by runtimes years older
# than the exporter's newest (20).
OPSET = 17
PT, ONNX, TORCHSCRIPT = "pt", "onnx", "torchscript"
FORMATS = (PT, ONNX, TORCHSCRIPT)
FILES = {PT: "model.pt", ONNX: "model.onnx", TORCHSCRIPT: "model.ts"}
TORCHSCRIPT_META = "spacehpo.json"  # the extra file inside a .ts archive
EXAMPLE_BATCH = 2  # traced with 2 images; tests run other batch sizes


class Deployable(nn.Module):
    """uint8 (B, S, S, 3) RGB -> class (B,) int64, confidence (B,), box (B, 4) normalised
    [cx, cy, w, h], cell (B, 2) int64 (row, col), heatmap (B, G, G) centre probabilities.

    The arithmetic is `Normaliser`'s and the decoding `decode`'s, so the exported answers are the
    ones `spacehpo predict` and the metrics compute from the same weights.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = images.permute(0, 3, 1, 2).float().div(255)
        out = self.detector((x - self.mean) / self.std)
        d = decode(out)
        return d.classes, d.confidence, d.boxes, d.cells, torch.sigmoid(out.centre.float())


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ModelError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")


def example_images(image_size: int, batch: int = EXAMPLE_BATCH) -> torch.Tensor:
    """Random, not zeros: a constant input could let the tracer fold what depends on pixels."""
    generator = torch.Generator().manual_seed(0)
    shape = (batch, image_size, image_size, 3)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)


def metadata(lm: LoadedModel) -> dict[str, str]:
    return {
        CLASS_NAMES: json.dumps(list(lm.class_names)),
        IMAGE_SIZE: str(lm.image_size),
        "input": f"{INPUT}: uint8 (batch, {lm.image_size}, {lm.image_size}, 3) RGB",
        "outputs": ", ".join(OUTPUTS),
        "producer": f"spacehpo {version('spacehpo')}",
    }


def _deployable(lm: LoadedModel) -> Deployable:
    return Deployable(lm.model).to("cpu").eval()


def export_onnx(lm: LoadedModel, path: Path, opset: int = OPSET) -> None:
    import onnx

    dynamic = {name: {0: "batch"} for name in (INPUT, *OUTPUTS)}
    with torch.no_grad(), warnings.catch_warnings():
        # Notices with nothing for a user to do: the legacy exporter's deprecation, and advanced
        # indexing's caveat about negative indices (decoded cells never are).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "Exporting aten::index operator", UserWarning)
        torch.onnx.export(
            _deployable(lm),
            (example_images(lm.image_size),),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
        )
    proto = onnx.load(str(path))
    for key, value in metadata(lm).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


@contextmanager
def _jit_warnings_off() -> Iterator[None]:
    """torch 2.14 marks every torch.jit call deprecated (said once in the docs: onnx is the
    format to prefer); a user who asked for TorchScript gets the file, not four warnings."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.", FutureWarning)
        yield


def export_torchscript(lm: LoadedModel, path: Path) -> None:
    """Traced, not scripted: scripting would need TorchScript annotations throughout the network
    and `decode`, while the trace records shapes as sizes, so the batch stays free (the tests run
    other batch sizes than the traced one)."""
    with torch.no_grad(), _jit_warnings_off():
        traced = torch.jit.trace(_deployable(lm), example_images(lm.image_size))
        meta = {TORCHSCRIPT_META: json.dumps(metadata(lm))}
        torch.jit.save(traced, str(path), _extra_files=meta)


def load_torchscript(path: Path) -> tuple[torch.jit.ScriptModule, dict[str, str]]:
    """The module and its metadata (class names as JSON, image size), as a deployment reads them."""
    extra = {TORCHSCRIPT_META: ""}
    with _jit_warnings_off():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module, json.loads(extra[TORCHSCRIPT_META])


EXPORTERS: dict[str, Callable[[LoadedModel, Path], None]] = {
    ONNX: export_onnx,
    TORCHSCRIPT: export_torchscript,
}


def export_checkpoint(checkpoint: Path, out: Path, fmt: str) -> None:
    """Any checkpoint `load_model` reads (best.pt, last.pt, an exported model.pt), so every
    backbone and head it builds exports the same way. Written beside `out` and renamed, so a
    failed export leaves no half file for a deployment to pick up."""
    check_format(fmt)
    if fmt == PT:
        raise ModelError("--format pt: the checkpoint already is one; choose onnx or torchscript")
    lm = load_model(checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        EXPORTERS[fmt](lm, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
