"""`study status` and `study list`: the status report and the study list as tables or data."""

from __future__ import annotations

import argparse

from spacehpo.cli.output import Output, show
from spacehpo.cli.tables import table
from spacehpo.hpo.core.ranking import show_spread
from spacehpo.hpo.core.space import show_params
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.trainable import DATA
from spacehpo.hpo.reports.status import STATES, StatusReport, status_report
from spacehpo.hpo.reports.study_admin import list_studies
from spacehpo.model.metrics import CLASS_ACC
from spacehpo.storage.backends import open_storage


def _stage_table(report: StatusReport) -> str:
    rows = [
        [
            row.stage,
            row.name,
            *(row.counts[s.name] for s in STATES),
            f"#{row.best_trial} {row.best_value:.3f}" if row.best_trial is not None else "-",
            show_params(row.best_params),
        ]
        for row in report.stages
    ]
    states = ["waiting", "running", "complete", "pruned", "failed"]
    return table(rows, ["stage", "name", *states, "best", "params"])


def _best_and_running(report: StatusReport) -> list[str]:
    lines = []
    if report.best:
        b = report.best
        params = show_params(b.params)
        lines += [
            "",
            f"best trial #{b.number}: class_acc {_show(b.class_acc)}, "
            f"centre_acc {_show(b.centre_acc)}, {params}",
        ]
        if b.repeats > 1 or b.objective != CLASS_ACC:
            lines.append(
                f"  its configuration: {show_spread(b.objective, b.mean, b.spread, b.repeats)}"
            )
    if report.running:
        rows = [
            [f"#{r.trial}", r.stage, r.epochs, f"{r.elapsed_s:.0f} s" if r.elapsed_s else "-",
             r.best_so_far]
            for r in report.running
        ]  # fmt: skip
        lines += [
            "",
            table(rows, ["running", "stage", "epochs", "elapsed", f"{report.objective} so far"]),
        ]
    return lines


def _show(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "-"


def _eta(report: StatusReport) -> str:
    if report.finished:
        return "plan finished"
    if report.eta_s is None:
        return f"{report.remaining} trial(s) to go; ETA after the first trial finishes"
    return (
        f"{report.remaining} trial(s) to go; ETA about {report.eta_s / 60:.1f} min with "
        f"{max(1, len(report.running))} worker(s) (mean trial {report.mean_trial_s:.0f} s; "
        "stage barriers can add to it)"
    )


def render_status(report: StatusReport, header: str) -> str:
    lines = [header, "", _stage_table(report), *_best_and_running(report), "", _eta(report)]
    return "\n".join(lines)


def _stage_values(report: StatusReport) -> list[list[object]]:
    """The stage table's columns, unformatted: what `--format value` prints."""
    return [
        [row.stage, row.name, *(row.counts[s.name] for s in STATES), row.best_trial, row.best_value,
         row.best_params]
        for row in report.stages
    ]  # fmt: skip


def status_command(args: argparse.Namespace) -> None:
    with open_storage(args.storage) as handle:
        study, spec = load(handle, args.name)
        report = status_report(study, spec)
        header = (
            f"study {args.name!r} in {handle.display}\nplan {spec.plan.name} "
            f"({spec.plan.size} points x {spec.repeats} repeat(s){', repeats reused' if spec.plan.reuse_repeats else ''})"
            f"{f' + TPE {spec.tpe_trials}' if spec.tpe else ''}; data "
            f"{spec.settings.get(DATA, '-')} ({spec.fingerprint or 'no fingerprint'}); "
            f"pruner {spec.pruner}; objective {spec.objective}"
        )
        show(
            Output(report.to_dict(), _stage_values(report), render_status(report, header)),
            args.format,
        )


def list_command(args: argparse.Namespace) -> None:
    with open_storage(args.storage) as handle:
        rows = list_studies(handle)
        values = [list(r.values()) for r in rows]
        text = table(values, list(rows[0])) if rows else f"no studies in {handle.display}"
        show(Output(rows, values, text), args.format)
