"""One run's per-epoch curves where users look: TensorBoard event files, `results.csv` (one row
per epoch, Ultralytics-style) and `results.png`.

A run may be written by several attempts (a resumed single run, a trial re-queued after a fault
under a new trial number). Each attempt opens the log at its first epoch: TensorBoard's
`purge_step` hides whatever a killed attempt wrote from there on, and the CSV keeps only the
rows before it, so every epoch has exactly one value.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, IOU, LOSS_NAMES, LR, SPARK_SCORE

if TYPE_CHECKING:
    from PIL import Image

# Reported value -> TensorBoard tag. The CSV columns are "epoch" and these keys, in this order.
SCALAR_TAGS = {
    **{name: f"train/{name}" for name in LOSS_NAMES},
    **{name: f"val/{name}" for name in (CLASS_ACC, CENTRE_ACC, IOU, SPARK_SCORE)},
    LR: "lr",
}
COLUMNS = ("epoch", *SCALAR_TAGS)
OVERLAYS_TAG = "val/overlays"
RESULTS_CSV, RESULTS_PNG = "results.csv", "results.png"


def _gfile() -> Any:
    """TensorBoard's own file layer: local paths, and s3:// where boto3 is installed."""
    from tensorboard.compat.tensorflow_stub.io import gfile

    return gfile


def read_rows(run_dir: str) -> list[dict[str, float]]:
    gfile, path = _gfile(), f"{run_dir}/{RESULTS_CSV}"
    if not gfile.exists(path):
        return []
    with gfile.GFile(path, "r") as f:
        text = f.read()
    text = text.decode() if isinstance(text, bytes) else text
    return [
        {k: float(v) for k, v in row.items() if v != ""}
        for row in csv.DictReader(io.StringIO(text))
    ]


def csv_text(rows: list[dict[str, float]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return out.getvalue()


def _cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else repr(float(value))


class CurveLog:
    """Open for one attempt of a run, starting at `first_epoch` (1 for a fresh run)."""

    def __init__(self, run_dir: str, first_epoch: int = 1) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir.rstrip("/")
        _gfile().makedirs(self.run_dir)
        self.rows = [r for r in read_rows(self.run_dir) if r["epoch"] < first_epoch]
        self.writer = SummaryWriter(self.run_dir, purge_step=first_epoch, flush_secs=10**6)
        self._png: tuple[int, bytes] | None = None

    def epoch(self, epoch: int, values: dict[str, Any], picture: Image.Image | None = None) -> None:
        """Every known scalar of this epoch, and the overlays as the detector draws them now;
        flushed at once, so a user watches it learn."""
        row = {"epoch": float(epoch)}
        for name, tag in SCALAR_TAGS.items():
            if isinstance(values.get(name), int | float):
                row[name] = float(values[name])
                self.writer.add_scalar(tag, row[name], epoch)
        if picture is not None:
            pixels = np.asarray(picture.convert("RGB"))
            self.writer.add_image(OVERLAYS_TAG, pixels, epoch, dataformats="HWC")
        self.rows.append(row)
        self.writer.flush()
        with _gfile().GFile(f"{self.run_dir}/{RESULTS_CSV}", "w") as f:
            f.write(csv_text(self.rows))

    def hparams(self, params: dict[str, Any]) -> None:
        """TensorBoard's HParams tab: the run's params, with the val/ curves as its metrics."""
        from torch.utils.tensorboard.summary import hparams

        metrics = {tag: 0.0 for tag in SCALAR_TAGS.values() if tag.startswith("val/")}
        shown = {
            k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in params.items()
        }
        file_writer = self.writer._get_file_writer()  # as SummaryWriter.add_hparams does
        for summary in hparams(shown, metrics):
            file_writer.add_summary(summary)
        self.writer.flush()

    def close(self) -> None:
        """Flush the events and draw results.png beside results.csv."""
        self.writer.close()
        if self.rows:
            with _gfile().GFile(f"{self.run_dir}/{RESULTS_PNG}", "wb") as f:
                f.write(self.png())

    def png(self) -> bytes:
        """Drawn once per set of rows (a finished trial saves it as an artifact, then closes)."""
        from spacehpo.model.pictures import curves_png

        if self._png is None or self._png[0] != len(self.rows):
            titles = {name: SCALAR_TAGS[name] for name in COLUMNS[1:]}
            self._png = (len(self.rows), curves_png(self.rows, titles))
        return self._png[1]

    def save_results(self, folder: Path) -> dict[str, Path]:
        """Local copies of results.csv and results.png, for upload as trial artifacts."""
        csv_path, png_path = folder / RESULTS_CSV, folder / RESULTS_PNG
        csv_path.write_text(csv_text(self.rows))
        png_path.write_bytes(self.png())
        return {"results_csv": csv_path, "results_png": png_path}
