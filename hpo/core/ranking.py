"""How trials and configurations rank, and when two of them can be told apart.

A trial ranks by the study's objective, ties broken by the objective's tie-break metric
(`model.metrics.rank_key`). A configuration (a plan point, or one TPE trial) runs once per
repeat (`study create --repeats K`) and ranks by the mean over its COMPLETE repeats; a full tie
goes to the earlier plan position (`plan_order`), never to the lower trial number: a re-queued
point gets a later number, so a tie decided by numbers would let a machine fault change what the
next stage inherits. Stage inheritance, status, the study note, export, compare and replay all
take their "best" from `best_point` or `best_trial` here.

One rule lives elsewhere on purpose: `compare.rank_in` places a study's winner among ALL the
configurations the full grid tried, pruned ones included (at their best epoch), grouped by
params rather than plan point. A rank among the complete trials only would flatter a pruned grid,
whose pruned configurations are exactly the ones the winner must be compared against.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from optuna.trial import TrialState
from spacehpo.hpo.core.space import ParamValue, same_params
from spacehpo.model.metrics import rank_key


@dataclass(frozen=True)
class TrialRecord:
    """What plan progression and ranking need to know of one trial."""

    number: int
    state: TrialState
    stage: int | None  # None: not part of the plan
    point: int | None
    params: dict[str, ParamValue]
    value: float | None = None  # the objective, once COMPLETE
    tie_break: float | None = None  # the best epoch's tie-break metric
    repeat: int = 0


def plan_order(r: TrialRecord) -> tuple[int, int, int, int]:
    """Plan points by (stage, point, repeat), which no timing changes; trials outside the plan
    after them, by number."""
    if r.stage is None or r.point is None:
        return (1, r.number, 0, 0)
    return (0, r.stage, r.point, r.repeat)


def _rank(value: float, tie_break: float | None, r: TrialRecord) -> tuple[float, ...]:
    """Higher is better; in a full tie the earlier plan position ranks higher."""
    return (*rank_key(value, tie_break), *(-x for x in plan_order(r)))


@dataclass(frozen=True)
class PointResult:
    """One configuration over its COMPLETE repeats (at least one)."""

    stage: int | None
    point: int | None
    trials: tuple[TrialRecord, ...]  # by trial number

    @property
    def params(self) -> dict[str, ParamValue]:
        return self.trials[0].params

    @property
    def values(self) -> list[float]:
        return [t.value for t in self.trials if t.value is not None]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def spread(self) -> float | None:
        """The standard deviation over repeats; None with a single repeat (noise unknown)."""
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    @property
    def tie_break(self) -> float | None:
        known = [t.tie_break for t in self.trials if t.tie_break is not None]
        return statistics.fmean(known) if known else None

    @property
    def best(self) -> TrialRecord:
        """The repeat whose checkpoint stands for the configuration (export, inheritance)."""
        return max(self.trials, key=lambda t: _rank(t.value, t.tie_break, t))

    def rank(self) -> tuple[float, ...]:
        return _rank(self.mean, self.tie_break, min(self.trials, key=plan_order))


def _finished(r: TrialRecord) -> bool:
    return r.state == TrialState.COMPLETE and r.value is not None and math.isfinite(r.value)


def point_results(records: list[TrialRecord]) -> list[PointResult]:
    """Every configuration with a COMPLETE repeat, best first."""
    groups: dict[tuple[int, int], list[TrialRecord]] = {}
    for r in sorted(filter(_finished, records), key=lambda r: r.number):
        key = (r.stage, r.point) if r.stage is not None else (-1, r.number)
        groups.setdefault(key, []).append(r)
    points = [PointResult(g[0].stage, g[0].point, tuple(g)) for g in groups.values()]
    return sorted(points, key=PointResult.rank, reverse=True)


def best_point(records: list[TrialRecord]) -> PointResult | None:
    points = point_results(records)
    return points[0] if points else None


def best_trial(records: list[TrialRecord]) -> TrialRecord | None:
    """The best configuration's best repeat: with one repeat, simply the best trial."""
    point = best_point(records)
    return point.best if point else None


def top_points(records: list[TrialRecord], n: int, stages: int) -> tuple[tuple[int, int], ...]:
    """The (stage, point)s of the `n` best plan configurations (TPE trials are not plan points)."""
    plan_points = [p for p in point_results(records) if p.stage is not None and p.stage < stages]
    return tuple((p.stage, p.point) for p in plan_points[:n])


def pooled_spread(points: list[PointResult]) -> float | None:
    """The noise of one run: the repeat-to-repeat standard deviation pooled over configurations."""
    variances = [p.spread**2 for p in points if p.spread is not None]
    return math.sqrt(statistics.fmean(variances)) if variances else None


def told_apart(a: PointResult, b: PointResult) -> bool | None:
    """The one noise rule: two configurations differ when their intervals mean +- one standard
    deviation over repeats do not overlap. None when either ran once (noise unknown)."""
    if a.spread is None or b.spread is None:
        return None
    return abs(a.mean - b.mean) > a.spread + b.spread


def noise_verdict(a: PointResult, b: PointResult, names: tuple[str, str]) -> str:
    """`told_apart` in words, for compare and replay."""
    apart = told_apart(a, b)
    if apart is None:
        return "one repeat each: the noise is unknown (run with --repeats 3 to measure it)"
    if same_params(a.params, b.params):
        return f"the {names[0]} and {names[1]} winners are the same configuration"
    verb = "can" if apart else "cannot"
    return (
        f"the {names[0]} and {names[1]} winners {verb} be told apart at this noise "
        "(mean +- one standard deviation over repeats "
        f"{'do not overlap' if apart else 'overlap'})"
    )


def show_spread(objective: str, mean: float | None, spread: float | None, n: int) -> str:
    """`class_acc 0.412 +- 0.020 over 3 repeats`: how a configuration's value is shown."""
    if mean is None:
        return f"{objective} -"
    if spread is None:
        return f"{objective} {mean:.4f} ({n} repeat{'s' if n != 1 else ''})"
    return f"{objective} {mean:.4f} +- {spread:.4f} over {n} repeats"
