"""`spacehpo compare`: what a staged plan (and a TPE continuation) found against the full grid,
and at what cost. The headline rows go back to the caller (the CLI prints them as a table);
the HTML report (`hpo/reports/compare_html.py`) and a CSV of all trials are written next to each other.

Trials are read only through the trial record (`hpo/core/record.py`) and ranked only by the one
ranking rule (`model/metrics.py: rank_key`), so compare agrees with the plan on what is best.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.curves import curves_of
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.ranking import PointResult, best_point, noise_verdict
from spacehpo.hpo.core.record import best_metrics_of, epochs_run_of, record_of, study_trials
from spacehpo.hpo.core.space import same_params
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.hpo.reports.compare_html import write_report
from spacehpo.model.metrics import TIE_BREAK, rank_key

CSV_ATTRS = (
    "number",
    "value",
    "params",
    "state",
    "user_attrs",
    "datetime_start",
    "datetime_complete",
)


@dataclass(frozen=True)
class StudyCost:
    name: str
    plan: str
    best: FrozenTrial | None  # the best configuration's best repeat
    point: PointResult | None  # the best configuration, over its repeats
    objective: str
    trials: int  # finished trials (complete, pruned, failed)
    epochs: int  # every epoch trained, retried attempts included
    device_hours: float
    curve: list[tuple[int, float]]  # (cumulative epochs, best objective so far)


@dataclass(frozen=True)
class Comparison:
    """The headline rows (one per study) are data, not text, so each caller renders them its way."""

    rows: list[dict[str, Any]]
    verdicts: list[str]  # each study's winner against the full grid's, at the noise (ranking.py)
    html: Path
    csv: Path


def finished_in_order(study: optuna.Study) -> list[FrozenTrial]:
    """Finished trials in the order they finished: the order in which the cost was spent."""
    return sorted(
        (t for t in study_trials(study) if t.state.is_finished()),
        key=lambda t: (t.datetime_complete, t.number),
    )


def best_so_far(trials: list[FrozenTrial], objective: str) -> tuple[int, list[tuple[int, float]]]:
    """Epochs spent in all, and after each trial the best configuration's mean so far, by the
    ranking rule (`ranking.best_point`) the plan itself decides with."""
    curve, spent, seen = [], 0, []
    for t in trials:
        spent += epochs_run_of(t)
        seen.append(record_of(t, objective))
        if (point := best_point(seen)) is not None:
            curve.append((spent, point.mean))
    return spent, curve


def cost_of(study: optuna.Study, spec: StudySpec) -> StudyCost:
    trials = finished_in_order(study)
    spent, curve = best_so_far(trials, spec.objective)
    seconds = sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_start and t.datetime_complete
    )
    point = best_point([record_of(t, spec.objective) for t in trials])
    plan = spec.plan.name + (f"+tpe{spec.tpe_trials}" if spec.tpe else "")
    best = next((t for t in trials if point and t.number == point.best.number), None)
    return StudyCost(
        study.study_name,
        plan,
        best,
        point,
        spec.objective,
        len(trials),
        spent,
        seconds / 3600,
        curve,
    )


def check_comparable(specs: list[tuple[str, StudySpec]]) -> None:
    """Costs and accuracies only compare on the same data, search space and epoch budget."""
    first_name, first = specs[0]
    for name, spec in specs[1:]:
        pair = f"studies {first_name!r} and {name!r}"
        if spec.fingerprint != first.fingerprint:
            raise HpoError(
                f"{pair} ran on different data (fingerprints "
                f"{first.fingerprint or '-'} and {spec.fingerprint or '-'})"
            )
        if set(spec.plan.space) != set(first.plan.space):
            raise HpoError(f"{pair} do not share a search space")
        if spec.epochs != first.epochs:
            raise HpoError(f"{pair} train for different epochs")
        if spec.objective != first.objective:
            raise HpoError(
                f"{pair} maximise different objectives ({first.objective}, {spec.objective})"
            )


def reached(t: FrozenTrial, objective: str) -> tuple[float, float]:
    """A trial's rank key: a complete trial by its result, a pruned one by its best epoch so far
    (the objective there, and the tie-break metric of that same epoch)."""
    tie = TIE_BREAK[objective]
    if t.state == TrialState.COMPLETE and t.value is not None:
        return rank_key(t.value, best_metrics_of(t).get(tie))
    curves = curves_of(t)
    ties = curves.of(tie)
    return max(
        (
            rank_key(v, _finite(ties[i]) if i < len(ties) else None)
            for i, v in enumerate(curves.of(objective))
        ),
        default=(-math.inf, 0.0),  # never reported an epoch: below every configuration that did
    )


def _finite(x: float) -> float | None:
    """A curve holds NaN for an epoch whose metric was missing; the rank rule wants None."""
    return x if math.isfinite(x) else None


def rank_in(trial: FrozenTrial, reference: list[FrozenTrial], objective: str) -> int | None:
    """1-based rank of `trial`'s configuration among the configurations the reference study
    tried (complete, or pruned after at least one epoch), each by the mean of its repeats' rank
    keys; None where it did not try it."""
    configs: list[tuple[dict[str, Any], list[tuple[float, float]]]] = []
    for t in reference:
        if t.state not in (TrialState.COMPLETE, TrialState.PRUNED) or not t.intermediate_values:
            continue
        same = next((c for c in configs if same_params(c[0], t.params)), None)
        if same is None:
            configs.append(same := (t.params, []))
        same[1].append(reached(t, objective))
    ranked = sorted(configs, key=lambda c: _mean_key(c[1]), reverse=True)
    return next(
        (i for i, (params, _) in enumerate(ranked, 1) if same_params(params, trial.params)), None
    )


def _mean_key(keys: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.fmean(k[0] for k in keys), statistics.fmean(k[1] for k in keys))


def headline(c: StudyCost, full: StudyCost | None, full_rank: int | None) -> dict[str, Any]:
    """One study against the full grid; the comparisons are None where there is no full grid."""
    full_best = full.point.mean if full and full.point else None
    mean = c.point.mean if c.point else None
    return {
        "study": c.name,
        "plan": c.plan,
        f"best {c.objective}": mean if mean is not None else float("nan"),
        "spread": round(c.point.spread, 4) if c.point and c.point.spread is not None else None,
        "repeats": len(c.point.values) if c.point else 0,
        "best trial": c.best.number if c.best else None,
        "trials": c.trials,
        "epochs": c.epochs,
        "device-hours": round(c.device_hours, 4),
        "cost vs full": round(c.epochs / full.epochs, 3) if full and full.epochs else None,
        "regret vs full": round(full_best - mean, 4)
        if full_best is not None and mean is not None
        else None,
        "rank in full grid": full_rank,
    }


def write_csv(studies: list[tuple[optuna.Study, StudySpec]], path: Path) -> None:
    frames = [s.trials_dataframe(attrs=CSV_ATTRS).assign(study=s.study_name) for s, _ in studies]
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)


def compare(studies: list[tuple[optuna.Study, StudySpec]], out: Path) -> Comparison:
    """Compare studies against the first one whose plan is a full grid. Writes the HTML report to
    `out` and all trials to `out` with the suffix `.csv`."""
    check_comparable([(s.study_name, spec) for s, spec in studies])
    costs = [cost_of(s, spec) for s, spec in studies]
    full = next(
        ((s, c) for (s, spec), c in zip(studies, costs, strict=True) if spec.plan.is_full_grid),
        None,
    )
    reference = study_trials(full[0]) if full else []
    rows = [
        headline(
            c,
            full[1] if full else None,
            rank_in(c.best, reference, c.objective) if full and c.best else None,
        )
        for c in costs
    ]
    verdicts = _verdicts(costs, full[1] if full else None)
    csv_path = out.with_suffix(".csv")
    write_csv(studies, csv_path)
    curves = {f"{c.name} ({c.plan})": c.curve for c in costs}
    objective = studies[0][1].objective
    write_report([(s, spec.plan.space) for s, spec in studies], curves, rows, out, objective)
    return Comparison(rows, verdicts, out, csv_path)


def _verdicts(costs: list[StudyCost], full: StudyCost | None) -> list[str]:
    if full is None or full.point is None:
        return []
    return [
        f"{c.name}: {noise_verdict(c.point, full.point, (c.plan, full.plan))}"
        for c in costs
        if c is not full and c.point is not None
    ]
