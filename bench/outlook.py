"""The report's outlook against its staged plan, measured (issue 16): the outlook plan run with
repeats on the same synthetic data, size and epochs as a recorded full-grid table, and the staged
plan's choices with the same repeats taken from that table (its points are all in the full grid,
recorded with the same seeds). Reports each winner's class and centre accuracy with their spread,
every backbone's seconds per epoch, and whether an outlook configuration beats the staged best on
centre accuracy by more than the noise (`ranking.told_apart`'s rule on centre accuracy) without
losing class accuracy beyond it.

    python -m spacehpo.bench.outlook --table bench/tables/full-128px.csv --data DIR [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from optuna.trial import TrialState
from spacehpo.bench.common import header, table
from spacehpo.hpo.core.plans import Enqueue, Repeats, progress, staged_plan
from spacehpo.hpo.core.ranking import PointResult, TrialRecord, best_point, point_results
from spacehpo.hpo.core.record import best_metrics_of, epochs_run_of, records, stage_of
from spacehpo.hpo.core.space import same_params, show_params
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.replay.table import Table, read_table
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC
from spacehpo.storage.backends import open_storage

Spread = tuple[float, float]  # mean, standard deviation over repeats


def staged_from_table(recorded: Table) -> tuple[dict, Spread, Spread]:
    """The staged plan run with every repeat the table holds, on the recorded values."""
    plan, done, centre = staged_plan(), [], {}
    while isinstance(action := progress(plan, done, Repeats(recorded.repeats)), Enqueue):
        for p in action.points:
            config = recorded.config_of(p.params)
            value, tie = recorded.outcomes[config][p.repeat]
            done.append(
                TrialRecord(
                    len(done),
                    TrialState.COMPLETE,
                    action.stage,
                    p.point,
                    p.params,
                    value,
                    tie,
                    p.repeat,
                )
            )
            centre[len(done) - 1] = tie  # the tie-break of class_acc is centre_acc
    best = best_point(done)
    return best.params, _class(best), _spread([centre[t.number] for t in best.trials])


def _class(point: PointResult) -> Spread:
    """The objective (class_acc) over the point's repeats, as ranking computes it."""
    return point.mean, point.spread or 0.0


def _spread(values: list[float]) -> Spread:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _run_outlook(args: argparse.Namespace, storage: str) -> None:
    cli = [sys.executable, "-m", "spacehpo.cli"]
    settings = ["--epochs", str(args.epochs), "--image-size", str(args.size), "--batch-size", "16"]
    subprocess.run([*cli, "study", "create", "outlook", "--plan", "outlook", "--pruner", "none",
                    "--repeats", str(args.repeats), "--data", str(args.data), "--storage", storage,
                    "--artifacts", str(args.out / "artifacts"), *settings], check=True)  # fmt: skip
    subprocess.run(
        [*cli, "worker", "outlook", "--storage", storage, "--devices", args.devices], check=True
    )


def _centre(point: PointResult, by_number: dict) -> Spread:
    return _spread([best_metrics_of(by_number[t.number])[CENTRE_ACC] for t in point.trials])


def _seconds_per_epoch(trials: list) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    for t in trials:
        if t.datetime_complete and t.datetime_start and stage_of(t) == 0:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
            per.setdefault(str(t.params["backbone"]), []).append(seconds / max(1, epochs_run_of(t)))
    return {name: statistics.fmean(v) for name, v in per.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True, help="bench.record's table")
    parser.add_argument("--data", type=Path, required=True, help="the table's synthetic data")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", default="cpu:2")
    parser.add_argument("--out", type=Path, help="keep (or reuse) the outlook study here")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    args.out = args.out or Path(tempfile.mkdtemp(prefix="bench-outlook-"))
    storage = f"journal:{args.out / 'journal.log'}"
    if not (args.out / "journal.log").exists():
        _run_outlook(args, storage)
    staged_params, staged_class, staged_centre = staged_from_table(read_table(args.table))
    with open_storage(storage) as handle:
        study, spec = load(handle, "outlook")
        trials = study.get_trials(deepcopy=False)
        by_number = {t.number: t for t in trials}
        points = point_results(records(study, spec.objective))
    shown, (pick, verdict) = (
        _distinct(points)[:5],
        _verdict(points, by_number, staged_class, staged_centre),
    )
    rows = [
        [
            "staged (from the table)",
            *_shown(staged_class, staged_centre),
            show_params(staged_params),
        ]
    ]
    rows += [[f"outlook #{points.index(p) + 1}", *_shown(_class(p), _centre(p, by_number)), show_params(p.params)]
             for p in shown + ([pick] if pick and pick not in shown else [])]  # fmt: skip
    print(
        header(f"outlook vs staged, {args.size} px, {args.epochs} epochs, {args.repeats} repeats")
    )
    print(table(rows, ["plan (rank)", CLASS_ACC, CENTRE_ACC, "configuration"]))
    speeds = _seconds_per_epoch(trials)
    print(
        table([[name, f"{s:.1f}"] for name, s in sorted(speeds.items())], ["backbone", "s/epoch"])
    )
    print(verdict)


def _distinct(points: list[PointResult]) -> list[PointResult]:
    """One row per configuration: a later stage re-runs its parent's winner under a new point."""
    kept: list[PointResult] = []
    for p in points:
        if not any(same_params(p.params, k.params) for k in kept):
            kept.append(p)
    return kept


def _shown(cls: Spread, centre: Spread) -> list[str]:
    return [f"{cls[0]:.4f} +- {cls[1]:.4f}", f"{centre[0]:.4f} +- {centre[1]:.4f}"]


def _verdict(
    points: list[PointResult], by_number: dict, cls: Spread, centre: Spread
) -> tuple[PointResult | None, str]:
    """Beats: centre better by more than both spreads, class not worse by more than both.

    The first such configuration in the ranking's order (class accuracy) is the one named."""
    for p in points:
        c, k = _centre(p, by_number), _class(p)
        if c[0] - centre[0] > c[1] + centre[1] and cls[0] - k[0] <= k[1] + cls[1]:
            return p, (
                f"ratio: outlook #{points.index(p) + 1} beats the staged best on {CENTRE_ACC} by "
                f"{c[0] - centre[0]:+.4f} (more than the spreads' sum {c[1] + centre[1]:.4f}), "
                f"{CLASS_ACC} {k[0] - cls[0]:+.4f} (within {k[1] + cls[1]:.4f})"
            )
    best_centre = max(points, key=lambda p: _centre(p, by_number)[0])
    gap = _centre(best_centre, by_number)[0] - centre[0]
    return None, (
        f"ratio: no outlook configuration beats the staged best on {CENTRE_ACC} by more than "
        f"the noise (best gap {gap:+.4f})"
    )


if __name__ == "__main__":
    main()
