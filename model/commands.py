"""What `spacehpo train | evaluate | predict` do, given their configuration (the CLI parses flags)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from PIL import Image
from spacehpo.data.spark import bbox_to_yolo, image_sizes, read_labels
from spacehpo.model.config import TrainConfig
from spacehpo.model.infer import (
    evaluate_dataset,
    image_paths,
    load_model,
    predict_files,
    write_submission,
)
from spacehpo.model.pictures import confusion_png, overlay
from spacehpo.model.train import EpochReport, load_data, rank_key, train

METRICS = ("class_acc", "centre_acc", "iou", "spark_score")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*r) for r in rows]
    )


def run_train(cfg: TrainConfig, data_root: Path, out: Path) -> None:
    data = load_data(data_root, cfg.image_size)
    start = time.perf_counter()

    def show(report: EpochReport) -> None:
        m = report.metrics
        print(
            f"epoch {report.epoch}/{cfg.epochs}  loss {m['loss']:.3f}  class_acc {m['class_acc']:.3f}  "
            f"centre_acc {m['centre_acc']:.3f}  iou {m['iou']:.3f}{'  *best' if report.is_best else ''}",
            flush=True,
        )

    history = train(cfg, data, out, on_epoch=show)
    best = max(history, key=rank_key)
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
    print(f"checkpoints: {out / 'best.pt'}  {out / 'last.pt'}")


def run_evaluate(checkpoint: Path, data_root: Path, split: str, out: Path, device: str) -> None:
    lm = load_model(checkpoint, device)
    metrics, preds, cached = evaluate_dataset(lm, data_root, split)
    out.mkdir(parents=True, exist_ok=True)
    confusion_png(metrics["confusion"], lm.class_names, out / "confusion.png", title=f"{split}:")
    with (out / "predictions.csv").open("w", newline="") as f:
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
                    lm.class_names[int(label[0])],
                    lm.class_names[int(cls)],
                    f"{conf:.4f}",
                    int(cell[0]),
                    int(cell[1]),
                    *(f"{v:.5f}" for v in box),
                ]
            )
    print(table([[k, f"{metrics[k]:.4f}"] for k in METRICS], ["metric", split]))
    print(
        f"\n{len(cached)} images; confusion matrix {out / 'confusion.png'}; per-image {out / 'predictions.csv'}"
    )


def run_predict(
    checkpoint: Path, images: Path, out: Path, labels: Path | None, device: str
) -> None:
    lm = load_model(checkpoint, device)
    paths = image_paths(images)
    preds = predict_files(lm, paths)
    widths, heights = image_sizes(paths)
    sizes = [(int(w), int(h)) for w, h in zip(widths, heights, strict=True)]
    truth = {}
    if labels is not None:
        spark = read_labels(labels)
        by_stem = {Path(n).stem: i for i, n in enumerate(spark.filenames)}
        for p, (w, h) in zip(paths, sizes, strict=True):
            if p.stem in by_stem:
                i = by_stem[p.stem]
                truth[p.stem] = (
                    bbox_to_yolo(spark.bboxes[i : i + 1], w, h)[0],
                    lm.class_names[spark.classes[i]],
                )
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    write_submission(out / "submission.csv", [p.name for p in paths], preds, sizes, lm.class_names)
    rows = []
    for i, path in enumerate(paths):
        name = lm.class_names[int(preds.classes[i])]
        gt_box, gt_name = truth.get(path.stem, (None, ""))
        img = overlay(
            Image.open(path),
            preds.heatmaps[i],
            tuple(preds.cells[i]),
            preds.boxes[i],
            f"{name} {preds.confidence[i]:.2f}",
            gt_box,
        )
        img.save(out / "overlays" / f"{path.stem}.png")
        rows.append([path.name, name, f"{preds.confidence[i]:.3f}", gt_name])
    print(table(rows, ["image", "predicted", "confidence", "true"]))
    print(f"\nsubmission {out / 'submission.csv'}; overlays in {out / 'overlays'}")
