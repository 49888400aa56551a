"""Export for deployment: the ONNX and TorchScript files give PyTorch's decoded answers on real
images, at batch sizes other than the traced one, and `predict`/`evaluate` read a .onnx as they
read a .pt. The weights are random but saved as training saves them, so `load_model` builds the
detector the way it builds any checkpoint."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from spacehpo.cli.main import main
from spacehpo.cli.model import evaluation
from spacehpo.data.cache import decode as decode_image
from spacehpo.data.classes import CLASS_NAMES
from spacehpo.model.checkpoint import save_checkpoint
from spacehpo.model.config import TrainConfig
from spacehpo.model.deploy import EXAMPLE_BATCH, OPSET, export_checkpoint, load_torchscript
from spacehpo.model.infer import load_model, predict_arrays
from spacehpo.model.network import Detector, Normaliser, build_detector
from spacehpo.model.onnx_predict import load_onnx, predict_onnx_arrays
from spacehpo.model.predictions import Predictions

from tests.conftest import SPARK_SAMPLE, assert_one_line_error

SIZE = 128  # a 4 x 4 centre grid, so the decoded cell can differ between images
TOL = 1e-4


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """The 11 real SPARK samples, decoded and resized as the cache does."""
    paths = sorted((SPARK_SAMPLE / "train").glob("*.png"))
    return np.stack([decode_image(p, SIZE) for p in paths])


def spread_heads(model: Detector, images: np.ndarray) -> None:
    """Random trunks give every image nearly the same features, hence the same class and cell;
    heads centred on these images' mean feature answer differently per image, so equal classes
    and cells across runtimes mean something."""
    with torch.no_grad():
        features = model.eval().trunk(Normaliser(torch.device("cpu"))(torch.from_numpy(images)))
        mean = features.mean(dim=(0, 2, 3))
        for head in (model.class_head, model.centre_head):
            head.weight.mul_(10)
            head.bias.copy_(-head.weight[:, :, 0, 0] @ mean)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, images: np.ndarray) -> dict[str, Path]:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("deploy")
    model = build_detector(len(CLASS_NAMES), "none")
    spread_heads(model, images)
    payload = {
        "config": TrainConfig(image_size=SIZE).to_dict(),
        "class_names": list(CLASS_NAMES),
        "image_size": SIZE,
        "model": model.state_dict(),
        "epoch": 1,
    }
    save_checkpoint(root / "best.pt", payload)
    export_checkpoint(root / "best.pt", root / "model.onnx", "onnx")
    export_checkpoint(root / "best.pt", root / "model.ts", "torchscript")
    return {"pt": root / "best.pt", "onnx": root / "model.onnx", "ts": root / "model.ts"}


@pytest.fixture(scope="module")
def reference(exported: dict[str, Path], images: np.ndarray) -> Predictions:
    """PyTorch's answers through the training path: `Normaliser`, the detector, `decode`."""
    lm = load_model(exported["pt"])
    return predict_arrays(lm.model, images, len(images), lm.device)


def assert_same(got: Predictions, want: Predictions) -> None:
    assert np.array_equal(got.cells, want.cells) and np.array_equal(got.classes, want.classes)
    for field in ("confidence", "boxes", "heatmaps"):
        assert np.abs(getattr(got, field) - getattr(want, field)).max() < TOL, field


@pytest.mark.slow
def test_onnx_equals_pytorch_at_other_batch_sizes(
    exported: dict[str, Path], images: np.ndarray, reference: Predictions
) -> None:
    assert len(np.unique(reference.cells, axis=0)) > 1 and len(np.unique(reference.classes)) > 1
    model = load_onnx(exported["onnx"])
    assert model.class_names == CLASS_NAMES and model.image_size == SIZE
    for batch in (len(images), 3, 1):  # never EXAMPLE_BATCH: the export traced that one
        assert batch != EXAMPLE_BATCH
        assert_same(predict_onnx_arrays(model, images, batch), reference)


@pytest.mark.slow
def test_onnx_file_is_uint8_images_with_dynamic_batch_and_one_opset(
    exported: dict[str, Path],
) -> None:
    proto = onnx.load(str(exported["onnx"]))
    (graph_input,) = proto.graph.input
    tensor = graph_input.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in tensor.shape.dim]
    assert tensor.elem_type == onnx.TensorProto.UINT8 and dims == ["batch", SIZE, SIZE, 3]
    assert [o.name for o in proto.graph.output] == ["class", "confidence", "box", "cell", "heatmap"]
    assert {o.domain: o.version for o in proto.opset_import}[""] == OPSET
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["image_size"] == str(SIZE) and "lisa_pathfinder" in meta["class_names"]


@pytest.mark.slow
def test_torchscript_equals_pytorch_at_another_batch_size(
    exported: dict[str, Path], images: np.ndarray, reference: Predictions
) -> None:
    module, meta = load_torchscript(exported["ts"])
    assert meta["image_size"] == str(SIZE)
    with torch.no_grad():
        outs = [o.numpy() for o in module(torch.from_numpy(images[:5]))]
    classes, confidence, boxes, cells, heatmaps = outs
    got = Predictions(cells, classes, confidence, boxes, heatmaps)
    want = Predictions(*(getattr(reference, f)[:5] for f in Predictions.__dataclass_fields__))
    assert_same(got, want)


def submission(path: Path) -> list[list[str]]:
    with path.open() as f:
        return list(csv.reader(f))


@pytest.mark.slow
def test_predict_with_onnx_writes_what_predict_with_pt_writes(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("img000001.png", "img050002.png", "img090001.png"):
        (folder / name).symlink_to(SPARK_SAMPLE / "train" / name)
    rows = {}
    for kind in ("pt", "onnx"):
        main(
            ["predict", "--checkpoint", str(exported[kind]), "--images", str(folder)]
            + ["--out", str(tmp_path / kind)]
        )
        rows[kind] = submission(tmp_path / kind / "submission.csv")
        assert len(list((tmp_path / kind / "overlays").glob("*.png"))) == 3
    assert len(rows["pt"]) == 4
    for pt_row, onnx_row in zip(rows["pt"][1:], rows["onnx"][1:], strict=True):
        assert onnx_row[:2] == pt_row[:2]  # file and class
        pt_box, onnx_box = (np.array(json.loads(r[2])) for r in (pt_row, onnx_row))
        assert np.abs(pt_box - onnx_box).max() <= 1  # pixels, rounded from boxes within 1e-4


@pytest.mark.slow
def test_predict_with_onnx_never_imports_torch(exported: dict[str, Path], tmp_path: Path) -> None:
    args = ["predict", "--checkpoint", str(exported["onnx"]), "--images"]
    args += [str(SPARK_SAMPLE / "train" / "img050002.png"), "--out", str(tmp_path)]
    code = f"import sys; from spacehpo.cli.main import main; main({args!r}); print(sorted(sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "onnxruntime" in r.stdout and "'torch'" not in r.stdout
    assert (tmp_path / "submission.csv").read_text().count("\n") == 2


@pytest.mark.slow
def test_evaluate_with_onnx_gives_the_checkpoints_metrics(
    exported: dict[str, Path], tiny_dataset: Path
) -> None:
    _, want, want_preds, _ = evaluation(exported["pt"], tiny_dataset, "val", "cpu")
    _, got, got_preds, _ = evaluation(exported["onnx"], tiny_dataset, "val", "cpu")
    assert_same(got_preds, want_preds)
    assert got["class_acc"] == want["class_acc"] and got["centre_acc"] == want["centre_acc"]
    assert abs(got["iou"] - want["iou"]) < TOL


def run_main(args: list[str], capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, exit_info.value.code, captured.out, captured.err)


def test_bad_format_and_bad_onnx_files_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    journal = f"journal:{tmp_path / 'j.log'}"
    r = run_main(["export", "s", "--storage", journal, "--format", "gif", "--out", "x"], capsys)
    assert_one_line_error(r, "--format 'gif'", "pt, onnx, torchscript")
    assert not (tmp_path / "j.log").exists()
    r = run_main(
        ["export-model", "--checkpoint", "best.pt", "--format", "gif", "--out", "m"], capsys
    )
    assert_one_line_error(r, "--format 'gif'")
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model\n")
    r = run_main(
        ["predict", "--checkpoint", str(junk), "--images", str(SPARK_SAMPLE / "train")]
        + ["--out", str(tmp_path / "p")],
        capsys,
    )
    assert_one_line_error(r, "junk.onnx: not a loadable ONNX model")
    foreign = tmp_path / "foreign.onnx"
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    opset = [onnx.helper.make_opsetid("", OPSET)]
    onnx.save(onnx.helper.make_model(graph, opset_imports=opset, ir_version=8), str(foreign))
    r = run_main(
        ["predict", "--checkpoint", str(foreign), "--images", str(SPARK_SAMPLE / "train")]
        + ["--out", str(tmp_path / "p")],
        capsys,
    )
    assert_one_line_error(r, "foreign.onnx: not a spacehpo export")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backbone", "centre_head"),
    [("resnet18", "offset"), ("resnet18", "softargmax"), ("efficientnet_b0", "argmax")],
)
def test_onnx_equals_pytorch_for_other_heads_and_backbones(
    backbone: str, centre_head: str, images: np.ndarray, tmp_path: Path
) -> None:
    """The decoding travels with the model whatever the centre head: offsets and the soft-argmax
    (its learnt temperature too) are in the graph. The full matrix of backbones and heads is `python -m spacehpo.bench.deploy_matrix`."""
    torch.manual_seed(0)
    cfg = TrainConfig(image_size=SIZE, backbone=backbone, centre_head=centre_head)
    model = build_detector(len(CLASS_NAMES), "none", backbone, cfg.heads)
    spread_heads(model, images)
    payload = {"config": cfg.to_dict(), "class_names": list(CLASS_NAMES), "image_size": SIZE}
    save_checkpoint(tmp_path / "best.pt", {**payload, "model": model.state_dict(), "epoch": 1})
    export_checkpoint(tmp_path / "best.pt", tmp_path / "model.onnx", "onnx")
    lm = load_model(tmp_path / "best.pt")
    want = predict_arrays(lm.model, images, len(images), lm.device)
    assert_same(predict_onnx_arrays(load_onnx(tmp_path / "model.onnx"), images, 3), want)
