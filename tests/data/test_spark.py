import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from spacehpo.data.classes import CLASS_IDS, CLASS_NAMES
from spacehpo.data.errors import DataError
from spacehpo.data.spark import (
    bbox_to_yolo,
    convert,
    read_labels,
    summarise_label_statistics,
    yolo_to_bbox,
)
from spacehpo.data.synth import load_label_statistics
from spacehpo.data.yolo import load_split

from tests.conftest import SPARK_SAMPLE, assert_one_line_error, run_cli


def test_real_samples_convert_with_row_first_bbox(tmp_path: Path) -> None:
    convert(SPARK_SAMPLE, tmp_path / "yolo", progress=False)
    split = load_split(tmp_path / "yolo", "train")
    assert len(split) == 11
    by_stem = {p.stem: row for p, row in zip(split.images, split.labels, strict=True)}
    # lisa_pathfinder [387, 0, 762, 340]: touches the LEFT edge at mid height.
    cls, cx, cy, w, h = by_stem["img050002"]
    assert CLASS_NAMES[int(cls)] == "lisa_pathfinder"
    assert cx - w / 2 == pytest.approx(0.0, abs=1e-6)
    assert cy == pytest.approx((387 + 762) / 2 / 1024, abs=1e-5)
    assert w == pytest.approx(340 / 1024, abs=1e-5) and h == pytest.approx(375 / 1024, abs=1e-5)
    # one image per class, ids in the official order
    assert sorted(int(c) for c in split.labels[:, 0]) == list(range(11))
    assert CLASS_NAMES[int(by_stem["img020001"][0])] == "debris"


def test_bbox_round_trip() -> None:
    boxes = np.array([[121, 258, 783, 1024], [387, 0, 762, 340]], dtype=float)
    side = np.full(2, 1024.0)
    assert (yolo_to_bbox(bbox_to_yolo(boxes, side, side), 1024, 1024) == boxes).all()


def test_bbox_clamped_to_image() -> None:
    yolo = bbox_to_yolo(
        np.array([[-5.0, -3.0, 1100.0, 500.0]]), np.array([1024.0]), np.array([1024.0])
    )
    x0, x1 = yolo[0, 0] - yolo[0, 2] / 2, yolo[0, 0] + yolo[0, 2] / 2
    assert x0 == 0 and x1 == pytest.approx(500 / 1024) and yolo[0, 3] == 1.0


def test_66k_label_file_parses_in_seconds() -> None:
    start = time.perf_counter()
    labels = read_labels(SPARK_SAMPLE / "labels-train-66k.csv")
    side = np.full(len(labels.classes), 1024.0)
    boxes = bbox_to_yolo(labels.bboxes, side, side)
    assert len(labels.filenames) == 66_000 and np.bincount(labels.classes).tolist() == [6000] * 11
    assert (boxes[:, 2:] > 0).all()
    assert (
        time.perf_counter() - start < 10
    )  # a loose bound: the design target is seconds, not minutes


def test_shipped_label_statistics_come_from_the_real_labels() -> None:
    shipped = load_label_statistics()
    fresh = summarise_label_statistics(SPARK_SAMPLE / "labels-train-66k.csv")
    assert np.allclose(shipped, fresh, atol=6e-5)


def _copy_sample(tmp_path: Path) -> Path:
    root = tmp_path / "spark"
    shutil.copytree(SPARK_SAMPLE / "train", root / "train")
    shutil.copy(SPARK_SAMPLE / "train.csv", root / "train.csv")
    return root


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t.replace("filename,class,bbox", "file,cls,box"), ":1: header"),
        (
            lambda t: t.replace("proba_2,", "proba_9,"),
            ":2: field 'class': unknown class name 'proba_9'",
        ),
        (lambda t: t.replace('"[121, 258, 783, 1024]"', '"[121, 258, 783]"'), ":2: field 'bbox'"),
        (
            lambda t: t.replace("img000001.png", "img999999.png"),
            ":2: field 'filename': no image img999999",
        ),
        (lambda t: t.replace("img010001.png", "img000001.jpg"), ":3: duplicate file stem"),
        (
            lambda t: t.replace('"[121, 258, 783, 1024]"', '"[121, 1024, 783, 1100]"'),
            ":2: field 'bbox': zero area",
        ),
    ],
)
def test_bad_release_gives_one_line_and_no_output(tmp_path: Path, edit, fragment: str) -> None:
    root = _copy_sample(tmp_path)
    (root / "train.csv").write_text(edit((root / "train.csv").read_text()))
    result = run_cli("data", "convert", "--spark-root", str(root), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_unknown_names_map_to_official_ids() -> None:
    assert CLASS_IDS["xmm_newton"] == 10 and CLASS_IDS["proba_2"] == 0


def test_empty_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("filename,class,bbox\n")
    with pytest.raises(DataError, match="no labels"):
        read_labels(path)
