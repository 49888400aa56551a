"""`spacehpo study status`: per stage, counts by state, the best trial, running trials, an ETA.

Built as data (`StatusReport`), so the command line can print it as tables or as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core import tpe
from spacehpo.hpo.core.plans import FINISHED, Done, latest_attempts, progress
from spacehpo.hpo.core.ranking import best_point
from spacehpo.hpo.core.record import (
    best_with_metrics,
    record_of,
    stage_label,
    stage_of,
    study_trials,
)
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC

STATES = (
    TrialState.WAITING,
    TrialState.RUNNING,
    TrialState.COMPLETE,
    TrialState.PRUNED,
    TrialState.FAIL,
)


@dataclass(frozen=True)
class StageRow:
    stage: str  # 1-based, or "+" for the TPE continuation
    name: str
    counts: dict[str, int]
    best_trial: int | None
    best_value: float | None  # the objective, as a mean over the best point's repeats
    best_params: dict[str, float]


@dataclass(frozen=True)
class RunningRow:
    trial: int
    stage: str
    epochs: int
    elapsed_s: float | None
    best_so_far: float | None  # the objective's best epoch so far


@dataclass(frozen=True)
class BestTrial:
    """The best configuration's best repeat (`number`), with its configuration's objective."""

    number: int
    class_acc: float | None  # None where the trainable records no class accuracy
    centre_acc: float | None
    params: dict[str, float]
    objective: str = CLASS_ACC
    mean: float | None = None  # the objective over the configuration's COMPLETE repeats
    spread: float | None = None  # their standard deviation (None: one repeat)
    repeats: int = 1


@dataclass(frozen=True)
class StatusReport:
    study: str
    plan: str
    total_trials: int
    stages: list[StageRow]
    best: BestTrial | None
    running: list[RunningRow]
    remaining: int
    finished: bool
    mean_trial_s: float | None
    eta_s: float | None
    objective: str  # what `best_value` and each running trial's best so far hold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_counts(trials: list[FrozenTrial]) -> dict[str, int]:
    counts = {s.name: 0 for s in STATES}  # by name: the keys of the table and the JSON
    for t in trials:
        counts[t.state.name] += 1
    return counts


def _stage_rows(trials: list[FrozenTrial], spec: StudySpec) -> list[StageRow]:
    names = [s.name for s in spec.plan.stages] + ([tpe.STAGE_NAME] if spec.tpe else [])
    rows = []
    for s, name in enumerate(names):
        in_stage = [t for t in trials if stage_of(t) == s]
        best = best_point([record_of(t, spec.objective) for t in in_stage])
        rows.append(
            StageRow(
                str(s + 1) if s < tpe.stage(spec.plan) else "+",
                name,
                state_counts(in_stage),
                best.best.number if best else None,
                best.mean if best else None,
                best.params if best else {},
            )
        )
    return rows


def _running_rows(trials: list[FrozenTrial]) -> list[RunningRow]:
    rows = []
    for t in trials:
        if t.state != TrialState.RUNNING:
            continue
        start = t.datetime_start
        elapsed = (datetime.now(tz=start.tzinfo) - start).total_seconds() if start else None
        values = t.intermediate_values
        best = max(values.values()) if values else None
        rows.append(RunningRow(t.number, stage_label(t), len(values), elapsed, best))
    return rows


def _best(trials: list[FrozenTrial], objective: str) -> BestTrial | None:
    found = best_with_metrics(trials, objective)
    if found is None:
        return None
    point, metrics = found
    return BestTrial(
        point.best.number,
        metrics.get(CLASS_ACC),
        metrics.get(CENTRE_ACC),
        point.params,
        objective,
        point.mean,
        point.spread,
        len(point.values),
    )


def _duration(t: FrozenTrial) -> float | None:
    if t.datetime_start and t.datetime_complete:
        return (t.datetime_complete - t.datetime_start).total_seconds()
    return None


def status_report(study: optuna.Study, spec: StudySpec) -> StatusReport:
    trials = study_trials(study)
    recs = [record_of(t, spec.objective) for t in trials]
    running = _running_rows(trials)
    finished_trials = sum(r.state in FINISHED for r in latest_attempts(recs).values())
    remaining = spec.total_trials - finished_trials
    durations = [
        d
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        if (d := _duration(t))
    ]
    mean = sum(durations) / len(durations) if durations else None
    workers = max(1, len(running))
    return StatusReport(
        study.study_name,
        spec.plan.name,
        spec.total_trials,
        _stage_rows(trials, spec),
        _best(trials, spec.objective),
        running,
        max(0, remaining),
        remaining <= 0 and isinstance(progress(spec.plan, recs, spec.repeat_counts()), Done),
        mean,
        remaining * mean / workers if mean is not None else None,
        spec.objective,
    )
