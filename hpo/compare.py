"""`spacehpo compare`: what a staged plan (and a TPE continuation) found against the full grid,
and at what cost. The headline rows go back to the caller (the CLI prints them as a table);
the HTML report (`hpo/compare_html.py`) and a CSV of all trials are written next to each other.

Trials are read only through the trial record (`hpo/record.py`) and ranked only by the one
ranking rule (`model/metrics.py: rank_key`), so compare agrees with the plan on what is best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.compare_html import write_report
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.plans import best_trial, same_params
from spacehpo.hpo.record import best_metrics_of, curves_of, epochs_run_of, record_of
from spacehpo.hpo.study import StudySpec
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, rank_key

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
    best: FrozenTrial | None
    trials: int  # finished trials (complete, pruned, failed)
    epochs: int  # every epoch trained, retried attempts included
    device_hours: float
    curve: list[tuple[int, float]]  # (cumulative epochs, best class accuracy so far)


@dataclass(frozen=True)
class Comparison:
    """The headline rows (one per study) are data, not text, so each caller renders them its way."""

    rows: list[dict[str, Any]]
    html: Path
    csv: Path


def finished_in_order(study: optuna.Study) -> list[FrozenTrial]:
    """Finished trials in the order they finished: the order in which the cost was spent."""
    return sorted(
        (t for t in study.get_trials(deepcopy=False) if t.state.is_finished()),
        key=lambda t: (t.datetime_complete, t.number),
    )


def best_so_far(trials: list[FrozenTrial]) -> tuple[int, list[tuple[int, float]]]:
    """Epochs spent in all, and the best class accuracy after each trial once there is one."""
    curve, spent, best = [], 0, float("-inf")
    for t in trials:
        spent += epochs_run_of(t)
        if t.state == TrialState.COMPLETE and t.value is not None:
            best = max(best, t.value)
        if best > float("-inf"):
            curve.append((spent, best))
    return spent, curve


def cost_of(study: optuna.Study, spec: StudySpec) -> StudyCost:
    trials = finished_in_order(study)
    spent, curve = best_so_far(trials)
    seconds = sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_start and t.datetime_complete
    )
    top = best_trial([record_of(t) for t in trials])
    plan = spec.plan.name + (f"+tpe{spec.tpe_trials}" if spec.tpe else "")
    best = next((t for t in trials if top and t.number == top.number), None)
    return StudyCost(study.study_name, plan, best, len(trials), spent, seconds / 3600, curve)


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


def reached(t: FrozenTrial) -> tuple[float, float]:
    """A configuration's rank key: a complete trial by its result, a pruned one by its best epoch
    so far (class accuracy there, and the centre accuracy of that same epoch)."""
    if t.state == TrialState.COMPLETE and t.value is not None:
        return rank_key(t.value, best_metrics_of(t).get(CENTRE_ACC))
    curves = curves_of(t)
    return max(
        (
            rank_key(c, _finite(curves.centre_acc[i]) if i < len(curves.centre_acc) else None)
            for i, c in enumerate(curves.class_acc)
        ),
        default=(-math.inf, 0.0),  # never reported an epoch: below every configuration that did
    )


def _finite(x: float) -> float | None:
    """A curve holds NaN for an epoch whose metric was missing; the rank rule wants None."""
    return x if math.isfinite(x) else None


def rank_in(trial: FrozenTrial, reference: list[FrozenTrial]) -> int | None:
    """1-based rank of `trial`'s configuration among the configurations the reference study
    tried (complete, or pruned after at least one epoch); None where it did not try it."""
    scored = [
        (reached(t), t)
        for t in reference
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.intermediate_values
    ]
    ranked = sorted(scored, key=lambda pair: pair[0], reverse=True)
    return next(
        (i for i, (_, t) in enumerate(ranked, 1) if same_params(t.params, trial.params)), None
    )


def headline(c: StudyCost, full: StudyCost | None, full_rank: int | None) -> dict[str, Any]:
    """One study against the full grid; the comparisons are None where there is no full grid."""
    full_best = full.best.value if full and full.best else None
    return {
        "study": c.name,
        "plan": c.plan,
        f"best {CLASS_ACC}": c.best.value if c.best else float("nan"),
        "best trial": c.best.number if c.best else None,
        "trials": c.trials,
        "epochs": c.epochs,
        "device-hours": round(c.device_hours, 4),
        "cost vs full": round(c.epochs / full.epochs, 3) if full and full.epochs else None,
        "regret vs full": round(full_best - c.best.value, 4)
        if full_best is not None and c.best
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
        ((s, c) for (s, _), c in zip(studies, costs, strict=True) if c.plan.startswith("full")),
        None,
    )
    reference = full[0].get_trials(deepcopy=False) if full else []
    rows = [
        headline(
            c, full[1] if full else None, rank_in(c.best, reference) if full and c.best else None
        )
        for c in costs
    ]
    csv_path = out.with_suffix(".csv")
    write_csv(studies, csv_path)
    curves = {f"{c.name} ({c.plan})": c.curve for c in costs}
    write_report([(s, spec.plan.space) for s, spec in studies], curves, rows, out)
    return Comparison(rows, out, csv_path)
