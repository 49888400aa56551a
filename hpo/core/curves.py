"""A trial's per-epoch validation curves, as the trial record keeps them.

Every curve is a user attribute list (`class_acc`, `centre_acc`, `iou`, `spark_score`), and the
study's objective is also Optuna's intermediate values, which the pruners and the dashboard read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from optuna.trial import FrozenTrial
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, IOU, SPARK_SCORE

CURVES = (CLASS_ACC, CENTRE_ACC, IOU, SPARK_SCORE)


@dataclass(frozen=True)
class Curves:
    """Per-epoch values from epoch 1 (NaN where a trainable did not report a metric)."""

    class_acc: list[float] = field(default_factory=list)
    centre_acc: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)
    spark_score: list[float] = field(default_factory=list)

    def appended(self, metrics: dict[str, float]) -> Curves:
        return Curves(
            *([*getattr(self, name), float(metrics.get(name, math.nan))] for name in CURVES)
        )

    def upto(self, epochs: int) -> Curves:
        return Curves(*(getattr(self, name)[:epochs] for name in CURVES))

    def of(self, metric: str) -> list[float]:
        return getattr(self, metric)

    def lists(self) -> dict[str, list[float]]:
        return {name: getattr(self, name) for name in CURVES}

    @staticmethod
    def from_lists(stored: dict[str, list[float]]) -> Curves:
        return Curves(*(list(stored.get(name, [])) for name in CURVES))


def curves_of(t: FrozenTrial) -> Curves:
    return Curves.from_lists(t.user_attrs)


def longest(a: Curves, b: Curves) -> Curves:
    """Each curve from whichever of two attempts got further."""
    return Curves(*(max(a.of(name), b.of(name), key=len) for name in CURVES))
