"""Every backbone with every centre head, exported to ONNX and run with onnxruntime against
PyTorch: export time, and whether the decoded cells and classes agree and the boxes are within
1e-4. The suite covers three of these fifteen; this is the whole matrix.

    python -m spacehpo.bench.deploy_matrix [--size 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from spacehpo.bench.common import header, table
from spacehpo.model.backbones import BACKBONE_NAMES
from spacehpo.model.checkpoint import save_checkpoint
from spacehpo.model.config import CENTRE_HEADS, TrainConfig
from spacehpo.model.deploy import export_checkpoint
from spacehpo.model.infer import load_model, predict_arrays
from spacehpo.model.network import build_detector
from spacehpo.model.onnx_predict import load_onnx, predict_onnx_arrays

NAMES = [f"class{i}" for i in range(11)]


def check(backbone: str, head: str, size: int, folder: Path) -> list[str]:
    torch.manual_seed(0)
    cfg = TrainConfig(image_size=size, backbone=backbone, centre_head=head)
    model = build_detector(len(NAMES), "none", backbone, cfg.heads)
    payload = {"config": cfg.to_dict(), "class_names": NAMES, "image_size": size, "epoch": 1}
    save_checkpoint(folder / "best.pt", {**payload, "model": model.state_dict()})
    started = time.perf_counter()
    export_checkpoint(folder / "best.pt", folder / "model.onnx", "onnx")
    seconds = time.perf_counter() - started
    images = np.random.default_rng(0).integers(0, 256, (5, size, size, 3), dtype=np.uint8)
    lm = load_model(folder / "best.pt")
    want = predict_arrays(lm.model, images, 5, lm.device)
    got = predict_onnx_arrays(load_onnx(folder / "model.onnx"), images, 3)
    same = np.array_equal(got.cells, want.cells) and np.array_equal(got.classes, want.classes)
    box = float(np.abs(got.boxes - want.boxes).max())
    return [backbone, head, f"{seconds:.1f}", "yes" if same else "NO", f"{box:.1e}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    print(header("ONNX export: every backbone x centre head"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backbone in BACKBONE_NAMES:
            for head in CENTRE_HEADS:
                rows.append(check(backbone, head, args.size, Path(tmp)))
    print(table(rows, ["backbone", "centre head", "export s", "cells+classes", "max box diff"]))
    agree = sum(r[3] == "yes" and float(r[4]) < 1e-4 for r in rows)
    print(f"ratio: {agree}/{len(rows)} exports agree with PyTorch")


if __name__ == "__main__":
    main()
