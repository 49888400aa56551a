"""`spacehpo study status`: per stage, counts by state, the best trial, running trials, an ETA."""

from __future__ import annotations

import time
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.plans import FINISHED, Done, best_trial, latest_attempts, progress
from spacehpo.hpo.study import StudySpec, record_of, state_counts
from spacehpo.model.commands import table


def fmt_params(params: dict[str, float]) -> str:
    return " ".join(f"{k}={v:g}" for k, v in params.items())


def _duration(t: FrozenTrial) -> float | None:
    if t.datetime_start and t.datetime_complete:
        return (t.datetime_complete - t.datetime_start).total_seconds()
    return None


def status_text(study: optuna.Study, spec: StudySpec, storage_display: str) -> str:
    trials = study.get_trials(deepcopy=False)
    recs = [record_of(t) for t in trials]
    n_stages = len(spec.plan.stages)
    lines = [
        f"study {study.study_name!r} in {storage_display}",
        f"plan {spec.plan.name} ({spec.plan.size} points{', repeats reused' if spec.plan.reuse_repeats else ''})"
        f"{' + TPE ' + str(sum(e['n'] for e in spec.tpe)) if spec.tpe else ''}; "
        f"data {spec.settings.get('data', '-')} ({spec.fingerprint or 'no fingerprint'}); pruner {spec.pruner}",
        "",
    ]
    rows = []
    names = [s.name for s in spec.plan.stages] + (["tpe"] if spec.tpe else [])
    for s, name in enumerate(names):
        in_stage = [t for t in trials if t.user_attrs.get("stage") == s]
        counts = state_counts(in_stage)
        best = best_trial([record_of(t) for t in in_stage])
        rows.append(
            [
                str(s + 1) if s < n_stages else "+",
                name,
                *(str(counts[k]) for k in ("WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL")),
                f"#{best.number} {best.value:.3f}" if best else "-",
                fmt_params(best.params) if best else "",
            ]
        )
    lines.append(
        table(
            rows,
            [
                "stage",
                "name",
                "waiting",
                "running",
                "complete",
                "pruned",
                "failed",
                "best",
                "params",
            ],
        )
    )
    best = best_trial(recs)
    if best:
        lines += [
            "",
            f"best trial #{best.number}: class_acc {best.value:.4f}, centre_acc {best.centre_acc or float('nan'):.4f}, {fmt_params(best.params)}",
        ]
    running = [t for t in trials if t.state == TrialState.RUNNING]
    if running:
        now = (
            datetime.now(tz=running[0].datetime_start.tzinfo)
            if running[0].datetime_start
            else datetime.now()
        )
        lines += [
            "",
            table(
                [
                    [
                        f"#{t.number}",
                        t.user_attrs.get("stage_name", "-"),
                        f"{len(t.intermediate_values)}/{spec.epochs}",
                        f"{(now - t.datetime_start).total_seconds():.0f} s"
                        if t.datetime_start
                        else "-",
                        f"{max(t.intermediate_values.values()):.3f}"
                        if t.intermediate_values
                        else "-",
                    ]
                    for t in running
                ],
                ["running", "stage", "epoch", "elapsed", "class_acc so far"],
            ),
        ]
    state = progress(spec.plan, recs)
    done_durations = [
        d
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and (d := _duration(t))
    ]
    finished = sum(r.state in FINISHED for r in latest_attempts(recs).values())
    remaining = spec.plan.size + sum(e["n"] for e in spec.tpe) - finished
    lines.append("")
    if remaining <= 0 and isinstance(state, Done):
        lines.append("plan finished")
    elif done_durations:
        workers = max(1, len(running))
        eta = remaining * (sum(done_durations) / len(done_durations)) / workers
        lines.append(
            f"{remaining} trial(s) to go; ETA about {eta / 60:.1f} min with {workers} worker(s) "
            f"(mean trial {sum(done_durations) / len(done_durations):.0f} s; stage barriers can add to it)"
        )
    else:
        lines.append(f"{remaining} trial(s) to go; ETA after the first trial finishes")
    lines.append(f"as of {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return "\n".join(lines)
