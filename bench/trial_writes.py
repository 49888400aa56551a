"""What one epoch of a trial's record costs the study's storage: `TrialWriter.epoch` writes the
four curves (class, centre, IoU, SPARK score), the epochs run and the objective's intermediate
value, on a real PostgreSQL (a throwaway database) and on a journal file, against one real
training step of the detector at 320 px measured side by side.

    python -m spacehpo.bench.trial_writes [--epochs 100] [--steps 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import optuna
import sqlalchemy
from spacehpo.bench.common import header, table
from spacehpo.bench.coordination import ADMIN
from spacehpo.bench.curves import training_step_s
from spacehpo.hpo.core.curves import CURVES, Curves
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.model.metrics import DEFAULT_OBJECTIVE
from spacehpo.storage.backends import open_storage


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A storage URL on a new database on the local server, dropped afterwards."""
    db = f"spacehpo_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"CREATE DATABASE {db}"))
    try:
        yield f"postgresql://postgres@127.0.0.1/{db}"
    finally:
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f"DROP DATABASE {db} WITH (FORCE)"))
        admin.dispose()


def epoch_writes(url: str, epochs: int) -> list[float]:
    """Seconds per epoch for one trial's `TrialWriter.epoch`, epochs 1..epochs."""
    rng = np.random.default_rng(0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with open_storage(url, create=True) as handle:
        study = optuna.create_study(storage=handle.storage, direction="maximize")
        writer, curves, seconds = TrialWriter(study.ask()), Curves(), []
        for epoch in range(1, epochs + 1):
            curves = curves.appended({name: float(rng.random()) for name in CURVES})
            t = time.perf_counter()
            writer.epoch(epoch, curves, epoch, DEFAULT_OBJECTIVE)
            seconds.append(time.perf_counter() - t)
    return seconds


def _row(kind: str, seconds: list[float], step: float) -> list[str]:
    median = float(np.median(seconds[1:]))
    return [kind, f"{median * 1000:.1f}", f"{seconds[-1] * 1000:.1f}", f"{median / step:.4f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(header(f"A trial's record per epoch, {args.epochs} epochs"))
    with throwaway_postgres() as url:
        postgres = epoch_writes(url, args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        journal = epoch_writes(f"journal:{Path(tmp) / 'j.log'}", args.epochs)
    step = training_step_s(args.steps)
    rows = [_row("postgresql", postgres, step), _row("journal", journal, step)]
    columns = ["storage", "epoch ms (median)", f"epoch {args.epochs} ms", "training steps"]
    print(table(rows, columns))
    print(f"one training step, 320 px, batch 16: {step * 1000:.0f} ms")
    ratio = float(np.median(postgres[1:])) / step
    print(f"ratio: one epoch's record on PostgreSQL = {ratio:.4f} training steps")


if __name__ == "__main__":
    main()
