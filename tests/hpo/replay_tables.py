"""Replay tables built by hand: the full grid's 108 configurations scored by `fakes.score`,
with seeded per-repeat noise, rising curves, and a centre accuracy that the pruners read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from spacehpo.cli.main import main
from spacehpo.hpo.core.curves import CURVES
from spacehpo.hpo.core.plans import full_plan
from spacehpo.hpo.replay.table import Table
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, IOU, SPARK_SCORE

from tests.hpo.fakes import score
from tests.hpo.studies import FAKE


def synthetic_table(repeats: int = 3, epochs: int = 4, noise: float = 0.01, seed: int = 0) -> Table:
    """`noise`: the repeat-to-repeat standard deviation of every value."""
    rng = np.random.default_rng(seed)
    plan = full_plan()
    configs = tuple(plan.stages[0].points({}))
    values = []
    for params in configs:
        final_class, final_centre = score(params)
        runs = []
        for _ in range(repeats):
            shift = rng.normal(0, noise, 2)
            rise = np.arange(1, epochs + 1) / epochs
            curve = {
                CLASS_ACC: list(map(float, (final_class + shift[0]) * rise)),
                CENTRE_ACC: list(map(float, (final_centre + shift[1]) * rise)),
                IOU: [0.5] * epochs,
                SPARK_SCORE: [float("nan")] * epochs,
            }
            runs.append({m: curve[m] for m in CURVES})
        values.append(tuple(runs))
    return Table(
        CLASS_ACC, epochs, repeats, tuple(plan.space), configs, tuple(values), "full", "synthetic"
    )


def create_here(url: str, root: Path, name: str, pruner: str, *extra: str) -> None:
    """`study create` of the fake trainable in this process (no second interpreter to start)."""
    args = ["--storage", url, "--trainable", FAKE, "--pruner", pruner]
    main(["study", "create", name, *args, "--artifacts", str(root / "artifacts"), *extra])
