"""`spacehpo train | evaluate | predict`: the detector on its own, without a study."""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacehpo.cli.flags import add_train_flags, train_config_from_args
from spacehpo.cli.tables import table
from spacehpo.model.config import TrainConfig
from spacehpo.model.curve_log import RESULTS_CSV, RESULTS_PNG
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, IOU, SPARK_SCORE
from spacehpo.model.run_files import BEST_CHECKPOINT, LAST_CHECKPOINT

if TYPE_CHECKING:
    import numpy as np
    from spacehpo.data.cache import CachedSplit
    from spacehpo.model.predictions import Predictions
    from spacehpo.model.train import EpochReport

METRICS = (CLASS_ACC, CENTRE_ACC, IOU, SPARK_SCORE)


def run_train(cfg: TrainConfig, data_root: Path, out: Path) -> None:
    from spacehpo.model.curve_log import CurveLog
    from spacehpo.model.metrics import rank_epoch
    from spacehpo.model.train import load_data, train

    data = load_data(data_root, cfg.image_size)
    start, logs = time.perf_counter(), []

    def show(report: EpochReport) -> None:
        if not logs:  # opened at the first epoch this call trains: a resumed run continues
            logs.append(CurveLog(str(out), report.epoch))
        logs[0].epoch(report.epoch, report.metrics, report.overlays)
        m = report.metrics
        print(
            f"epoch {report.epoch}/{cfg.epochs}  loss {m['loss']:.3f}  class_acc {m[CLASS_ACC]:.3f}  "
            f"centre_acc {m[CENTRE_ACC]:.3f}  iou {m[IOU]:.3f}{'  *best' if report.is_best else ''}",
            flush=True,
        )

    try:
        history = train(cfg, data, out, on_epoch=show)
    finally:
        for log in logs:
            log.hparams(asdict(cfg))
            log.close()
    best = max(history, key=lambda h: rank_epoch(h, cfg.objective))
    elapsed = time.perf_counter() - start
    print()
    print(
        table(
            [[h["epoch"], f"{h['loss']:.3f}", *(f"{h[k]:.3f}" for k in METRICS)] for h in history],
            ["epoch", "train loss", *METRICS],
        )
    )
    print(
        f"\nbest epoch {best['epoch']}: class_acc {best['class_acc']:.3f}, centre_acc {best['centre_acc']:.3f}  "
        f"({len(data.train)} train / {len(data.val)} val images at {cfg.image_size} px, {elapsed:.0f} s)"
    )
    print(f"checkpoints: {out / BEST_CHECKPOINT}  {out / LAST_CHECKPOINT}")
    print(f"curves: {out / RESULTS_CSV}  {out / RESULTS_PNG}  (tensorboard --logdir {out})")


def run_evaluate(checkpoint: Path, data_root: Path, split: str, out: Path, device: str) -> None:
    from spacehpo.model.pictures import confusion_png

    class_names, metrics, preds, cached = evaluation(checkpoint, data_root, split, device)
    out.mkdir(parents=True, exist_ok=True)
    confusion_png(metrics["confusion"], class_names, out / "confusion.png", title=f"{split}:")
    _write_predictions(out / "predictions.csv", cached, preds, class_names)
    print(table([[k, f"{metrics[k]:.4f}"] for k in METRICS], ["metric", split]))
    print(
        f"\n{len(cached)} images; confusion matrix {out / 'confusion.png'}; per-image {out / 'predictions.csv'}"
    )


def _is_onnx(checkpoint: Path) -> bool:
    return checkpoint.suffix.lower() == ".onnx"


def evaluation(
    checkpoint: Path, data_root: Path, split: str, device: str
) -> tuple[tuple[str, ...], dict[str, Any], Predictions, CachedSplit]:
    """The suffix decides, as in `predictions`: an exported .onnx is evaluated on onnxruntime."""
    if _is_onnx(checkpoint):
        from spacehpo.data.cache import open_split
        from spacehpo.model.infer import split_metrics
        from spacehpo.model.onnx_predict import load_onnx, predict_onnx_arrays

        model = load_onnx(checkpoint, device)
        cached = open_split(data_root, split, model.image_size)
        preds = predict_onnx_arrays(model, cached.images)
        metrics = split_metrics(preds, cached.labels, model.image_size, len(model.class_names))
        return model.class_names, metrics, preds, cached
    from spacehpo.model.infer import evaluate_dataset, load_model

    lm = load_model(checkpoint, device)
    return lm.class_names, *evaluate_dataset(lm, data_root, split)


def _write_predictions(
    path: Path, cached: CachedSplit, preds: Predictions, class_names: tuple[str, ...]
) -> None:
    """One row per image, for spreadsheets: truth, prediction, confidence, cell and box."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "image",
                "true_class",
                "pred_class",
                "confidence",
                "cell_row",
                "cell_col",
                "cx",
                "cy",
                "w",
                "h",
            ]
        )
        for stem, label, cls, conf, cell, box in zip(
            cached.stems,
            cached.labels,
            preds.classes,
            preds.confidence,
            preds.cells,
            preds.boxes,
            strict=True,
        ):
            writer.writerow(
                [
                    stem,
                    class_names[int(label[0])],
                    class_names[int(cls)],
                    f"{conf:.4f}",
                    int(cell[0]),
                    int(cell[1]),
                    *(f"{v:.5f}" for v in box),
                ]
            )


def predictions(
    checkpoint: Path, paths: list[Path], device: str
) -> tuple[tuple[str, ...], Predictions]:
    """The suffix decides: an exported .onnx runs on onnxruntime, anything else is a checkpoint."""
    if _is_onnx(checkpoint):
        from spacehpo.model.onnx_predict import load_onnx, predict_onnx

        onnx_model = load_onnx(checkpoint, device)
        return onnx_model.class_names, predict_onnx(onnx_model, paths)
    from spacehpo.model.infer import load_model, predict_files

    lm = load_model(checkpoint, device)
    return lm.class_names, predict_files(lm, paths)


def _truth(
    labels: Path, paths: list[Path], sizes: list[tuple[int, int]], class_names: tuple[str, ...]
) -> dict[str, tuple[np.ndarray, str]]:
    """Image stem -> (normalised true box, true class) from a SPARK labels CSV."""
    from spacehpo.data.spark import bbox_to_yolo, read_labels

    spark = read_labels(labels)
    by_stem = {Path(n).stem: i for i, n in enumerate(spark.filenames)}
    truth = {}
    for p, (w, h) in zip(paths, sizes, strict=True):
        if p.stem in by_stem:
            i = by_stem[p.stem]
            truth[p.stem] = (
                bbox_to_yolo(spark.bboxes[i : i + 1], w, h)[0],
                class_names[spark.classes[i]],
            )
    return truth


def run_predict(
    checkpoint: Path, images: Path, out: Path, labels: Path | None, device: str
) -> None:
    from PIL import Image
    from spacehpo.data.spark import image_sizes
    from spacehpo.model.overlays import Shown, tile, with_legend
    from spacehpo.model.predictions import image_paths, write_submission

    paths = image_paths(images)
    class_names, preds = predictions(checkpoint, paths, device)
    widths, heights = image_sizes(paths)
    sizes = [(int(w), int(h)) for w, h in zip(widths, heights, strict=True)]
    truth = _truth(labels, paths, sizes, class_names) if labels is not None else {}
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    write_submission(out / "submission.csv", [p.name for p in paths], preds, sizes, class_names)
    rows = []
    for i, path in enumerate(paths):
        name = class_names[int(preds.classes[i])]
        gt_box, gt_name = truth.get(path.stem, (None, None))
        cell = (int(preds.cells[i][0]), int(preds.cells[i][1]))
        shown = Shown(
            Image.open(path), path.name, preds.heatmaps[i], cell, preds.boxes[i], name,
            float(preds.confidence[i]), gt_box, gt_name,
        )  # fmt: skip
        with_legend(tile(shown)).save(out / "overlays" / f"{path.stem}.png")
        rows.append([path.name, name, f"{preds.confidence[i]:.3f}", gt_name or ""])
    print(table(rows, ["image", "predicted", "confidence", "true"]))
    print(f"\nsubmission {out / 'submission.csv'}; overlays in {out / 'overlays'}")


def _train(args: argparse.Namespace) -> None:
    from spacehpo.data.yolo import read_names

    cfg = train_config_from_args(args)  # the flags first, as everywhere
    read_names(args.data)  # a missing or wrong dataset: one line naming it, before anything
    run_train(cfg, args.data, args.out)


def _evaluate(args: argparse.Namespace) -> None:
    run_evaluate(
        args.checkpoint,
        args.data,
        args.split,
        args.out or args.checkpoint.parent / f"eval-{args.split}",
        args.device,
    )


def _predict(args: argparse.Namespace) -> None:
    run_predict(args.checkpoint, args.images, args.out, args.labels, args.device)


def _export_model(args: argparse.Namespace) -> None:
    from spacehpo.model.deploy import export_checkpoint

    export_checkpoint(args.checkpoint, args.out, args.format)
    print(f"exported {args.checkpoint} as {args.format} to {args.out}")


def _train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="YOLO dataset folder")
    p.add_argument("--out", type=Path, required=True, help="run folder (resumes from its last.pt)")
    add_train_flags(p)
    p.set_defaults(func=_train)


def _evaluate_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, help=CHECKPOINT_HELP)
    p.add_argument("--data", type=Path, required=True, help="YOLO dataset folder")
    p.add_argument("--split", default="val", choices=["train", "val"], help="split to evaluate")
    p.add_argument("--out", type=Path, help="output folder (default: beside the checkpoint)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=_evaluate)


def _predict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, help=CHECKPOINT_HELP)
    p.add_argument("--images", type=Path, required=True, help="an image or a folder of images")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--labels", type=Path, help="SPARK labels CSV: also draw the true boxes")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=_predict)


def _export_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, help="best.pt, last.pt or model.pt")
    p.add_argument("--format", default="onnx", help="onnx (default) or torchscript")
    p.add_argument("--out", type=Path, required=True, help="output file (model.onnx, model.ts)")
    p.set_defaults(func=_export_model)


CHECKPOINT_HELP = "best.pt, last.pt, an exported model.pt, or a model.onnx (run with onnxruntime)"
COMMAND_FLAGS = {
    "train": _train_flags,
    "evaluate": _evaluate_flags,
    "predict": _predict_flags,
    "export-model": _export_model_flags,
}


def add_command(name: str, parser: argparse.ArgumentParser) -> None:
    COMMAND_FLAGS[name](parser)
