"""The study note (Markdown) optuna-dashboard shows: plan, dataset, and the stage bests so far."""

from __future__ import annotations

import optuna
from optuna_dashboard import save_note
from spacehpo.hpo.core.ranking import best_point, show_spread
from spacehpo.hpo.core.record import record_of, stage_of, study_trials
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.hpo.engine.trainable import DATA


def note_text(study: optuna.Study, spec: StudySpec) -> str:
    trials = study_trials(study)
    lines = [
        f"# {study.study_name}",
        "",
        f"**Plan** `{spec.plan.name}`: {spec.plan.size} grid points"
        + (f" + {spec.tpe_trials} TPE trials" if spec.tpe else ""),
        f"**Data** `{spec.settings.get(DATA, '-')}` (fingerprint `{spec.fingerprint or '-'}`)",
        "**Training** " + ", ".join(f"{k}={v}" for k, v in spec.training_settings().items()),
        f"**Pruner** {spec.pruner}; **objective** `{spec.objective}` (validation, read at the "
        f"predicted centre cell), each plan point run {spec.repeats} time(s), ranked by the mean",
        f"**Curves** `spacehpo tensorboard {study.study_name}` (event files and results.csv per "
        f"run in `{spec.tensorboard_dir(study.study_name)}`)",
        "",
        "| stage | grid | inherits | best so far |",
        "|---|---|---|---|",
    ]
    for s, stage in enumerate(spec.plan.stages):
        best = best_point([record_of(t, spec.objective) for t in trials if stage_of(t) == s])
        grid = " x ".join(f"{k} {list(v)}" for k, v in stage.grid.items())
        shown = (
            f"#{best.best.number}: {show_spread(spec.objective, best.mean, best.spread, len(best.values))}"
            if best
            else "-"
        )
        lines.append(
            f"| {s + 1} {stage.name} | {grid} | {', '.join(stage.inherit) or '-'} | {shown} |"
        )
    return "\n".join(lines)


def write_note(study: optuna.Study, spec: StudySpec) -> None:
    save_note(study, note_text(study, spec))
