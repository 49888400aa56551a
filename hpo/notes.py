"""The study note (Markdown) optuna-dashboard shows: plan, dataset, and the stage bests so far."""

from __future__ import annotations

import optuna
from optuna_dashboard import save_note
from spacehpo.hpo.plans import best_trial
from spacehpo.hpo.study import StudySpec, record_of


def note_text(study: optuna.Study, spec: StudySpec) -> str:
    trials = study.get_trials(deepcopy=False)
    lines = [
        f"# {study.study_name}",
        "",
        f"**Plan** `{spec.plan.name}`: {spec.plan.size} grid points"
        + (f" + {sum(e['n'] for e in spec.tpe)} TPE trials" if spec.tpe else ""),
        f"**Data** `{spec.settings.get('data', '-')}` (fingerprint `{spec.fingerprint or '-'}`)",
        "**Training** " + ", ".join(f"{k}={v}" for k, v in spec.settings.items() if k != "data"),
        f"**Pruner** {spec.pruner}; objective: validation class accuracy at the predicted centre cell",
        "",
        "| stage | grid | inherits | best so far |",
        "|---|---|---|---|",
    ]
    for s, stage in enumerate(spec.plan.stages):
        best = best_trial([record_of(t) for t in trials if t.user_attrs.get("stage") == s])
        grid = " x ".join(f"{k} {list(v)}" for k, v in stage.grid.items())
        shown = f"#{best.number}: {best.value:.3f}" if best else "-"
        lines.append(
            f"| {s + 1} {stage.name} | {grid} | {', '.join(stage.inherit) or '-'} | {shown} |"
        )
    return "\n".join(lines)


def write_note(study: optuna.Study, spec: StudySpec) -> None:
    save_note(study, note_text(study, spec))
