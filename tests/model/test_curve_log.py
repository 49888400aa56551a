"""The run's curves, read back with TensorBoard's own reader."""

import csv
import io
from pathlib import Path

from PIL import Image
from spacehpo.model.curve_log import (
    COLUMNS,
    OVERLAYS_TAG,
    RESULTS_CSV,
    RESULTS_PNG,
    SCALAR_TAGS,
    CurveLog,
)
from spacehpo.model.metrics import CLASS_ACC
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def _epoch_values(epoch: int, attempt: int) -> dict[str, float]:
    return {name: epoch + attempt / 10 for name in SCALAR_TAGS}


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {
        tag: [(e.step, round(e.value, 4)) for e in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def test_every_scalar_at_every_epoch_and_results_files(tmp_path: Path) -> None:
    log = CurveLog(str(tmp_path / "run"))
    for epoch in (1, 2):
        log.epoch(epoch, {**_epoch_values(epoch, 0), "confusion": [[1]]})
    log.hparams({"lr": 3e-4, "sigma": 0.5})
    log.close()
    found = scalars(tmp_path / "run")
    assert set(found) == set(SCALAR_TAGS.values())
    assert all(values == [(1, 1.0), (2, 2.0)] for values in found.values())
    with (tmp_path / "run" / RESULTS_CSV).open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert [float(r[CLASS_ACC]) for r in rows] == [1.0, 2.0]
    assert (tmp_path / "run" / RESULTS_PNG).read_bytes().startswith(b"\x89PNG")


def test_a_resumed_run_has_one_value_per_epoch(tmp_path: Path) -> None:
    """The first attempt wrote epochs 1-3 but was killed before epoch 3's checkpoint; the
    second resumes after epoch 2 (never closing the first writer, as a SIGKILL would)."""
    first = CurveLog(str(tmp_path / "run"))
    for epoch in (1, 2, 3):
        first.epoch(epoch, _epoch_values(epoch, 0))
    second = CurveLog(str(tmp_path / "run"), first_epoch=3)
    for epoch in (3, 4):
        second.epoch(epoch, _epoch_values(epoch, 1))
    second.close()
    assert scalars(tmp_path / "run")["val/class_acc"] == [(1, 1.0), (2, 2.0), (3, 3.1), (4, 4.1)]
    epochs = [float(r["epoch"]) for r in csv.DictReader((tmp_path / "run" / RESULTS_CSV).open())]
    assert epochs == [1.0, 2.0, 3.0, 4.0]


def test_each_epoch_s_overlays_are_an_image_in_tensorboard(tmp_path: Path) -> None:
    """Read back with TensorBoard's reader: one picture per epoch, at its size; a resumed
    attempt replaces the epochs it retrains, as it does the scalars."""
    first = CurveLog(str(tmp_path / "run"))
    for epoch in (1, 2):
        first.epoch(epoch, _epoch_values(epoch, 0), Image.new("RGB", (64, 48), (epoch, 0, 0)))
    second = CurveLog(str(tmp_path / "run"), first_epoch=2)
    second.epoch(2, _epoch_values(2, 1), Image.new("RGB", (64, 48), (9, 0, 0)))
    second.close()
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"images": 0})
    events.Reload()
    assert events.Tags()["images"] == [OVERLAYS_TAG]
    shown = events.Images(OVERLAYS_TAG)
    assert [(e.step, e.width, e.height) for e in shown] == [(1, 64, 48), (2, 64, 48)]
    assert Image.open(io.BytesIO(shown[1].encoded_image_string)).getpixel((0, 0)) == (9, 0, 0)
