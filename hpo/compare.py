"""`spacehpo compare`: what a staged plan (and a TPE continuation) found against the full grid,
and at what cost. One self-contained HTML file, a terminal table and a CSV of all trials."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.plans import best_trial, same_params
from spacehpo.hpo.study import StudySpec, record_of
from spacehpo.model.commands import table


@dataclass(frozen=True)
class StudyCost:
    name: str
    plan: str
    best: FrozenTrial | None
    trials: int  # finished trials (complete, pruned, failed)
    epochs: int  # every epoch trained, retried attempts included
    device_hours: float
    curve: list[tuple[int, float]]  # (cumulative epochs, best class accuracy so far)


def epochs_of(t: FrozenTrial) -> int:
    return int(t.user_attrs.get("epochs_run", len(t.intermediate_values)))


def cost_of(study: optuna.Study, spec: StudySpec) -> StudyCost:
    trials = sorted(
        (t for t in study.get_trials(deepcopy=False) if t.state.is_finished()),
        key=lambda t: (t.datetime_complete, t.number),
    )
    records = {t.number: record_of(t) for t in trials}
    curve, spent, best = [], 0, float("-inf")
    for t in trials:
        spent += epochs_of(t)
        if t.state == TrialState.COMPLETE and t.value is not None:
            best = max(best, t.value)
        if best > float("-inf"):
            curve.append((spent, best))
    hours = (
        sum(
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in trials
            if t.datetime_start
        )
        / 3600
    )
    top = best_trial(list(records.values()))
    plan = spec.plan.name + (f"+tpe{sum(e['n'] for e in spec.tpe)}" if spec.tpe else "")
    return StudyCost(
        study.study_name,
        plan,
        next((t for t in trials if top and t.number == top.number), None),
        len(trials),
        spent,
        hours,
        curve,
    )


def check_comparable(specs: list[tuple[str, StudySpec]]) -> None:
    first_name, first = specs[0]
    for name, spec in specs[1:]:
        if spec.fingerprint != first.fingerprint:
            raise HpoError(
                f"studies {first_name!r} and {name!r} ran on different data (fingerprints {first.fingerprint or '-'} and {spec.fingerprint or '-'})"
            )
        if set(spec.plan.space) != set(first.plan.space):
            raise HpoError(f"studies {first_name!r} and {name!r} do not share a search space")
        if spec.settings.get("epochs") != first.settings.get("epochs"):
            raise HpoError(f"studies {first_name!r} and {name!r} train for different epochs")


def rank_in(trial: FrozenTrial, reference: list[FrozenTrial]) -> int | None:
    """1-based rank of `trial`'s configuration in the reference study, by the best class accuracy
    each configuration reported (a pruned trial counts with its best epoch so far)."""
    scored = [
        (reached(t), t)
        for t in reference
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.intermediate_values
    ]
    ranked = sorted(scored, key=lambda pair: -pair[0])
    return next(
        (i for i, (_, t) in enumerate(ranked, 1) if same_params(t.params, trial.params)), None
    )


def reached(t: FrozenTrial) -> float:
    return (
        t.value
        if t.state == TrialState.COMPLETE and t.value is not None
        else max(t.intermediate_values.values())
    )


def compare(studies: list[tuple[optuna.Study, StudySpec]], out: Path) -> str:
    check_comparable([(s.study_name, spec) for s, spec in studies])
    costs = [cost_of(s, spec) for s, spec in studies]
    full = next(
        ((s, c) for (s, _), c in zip(studies, costs, strict=True) if c.plan.startswith("full")),
        None,
    )
    full_best = full[1].best.value if full and full[1].best else None
    rows = []
    for c in costs:
        rank = rank_in(c.best, full[0].get_trials(deepcopy=False)) if full and c.best else None
        rows.append(
            {
                "study": c.name,
                "plan": c.plan,
                "best class_acc": c.best.value if c.best else float("nan"),
                "best trial": c.best.number if c.best else None,
                "trials": c.trials,
                "epochs": c.epochs,
                "device-hours": round(c.device_hours, 4),
                "cost vs full": round(c.epochs / full[1].epochs, 3)
                if full and full[1].epochs
                else None,
                "regret vs full": round(full_best - c.best.value, 4)
                if full_best is not None and c.best
                else None,
                "rank in full grid": rank,
            }
        )
    headline = pd.DataFrame(rows)
    csv_path = out.with_suffix(".csv")
    frames = [
        s.trials_dataframe(
            attrs=(
                "number",
                "value",
                "params",
                "state",
                "user_attrs",
                "datetime_start",
                "datetime_complete",
            )
        ).assign(study=s.study_name)
        for s, _ in studies
    ]
    pd.concat(frames, ignore_index=True).to_csv(csv_path, index=False)
    _write_html(studies, costs, headline, out)
    text = table(
        [
            [
                "-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)
                for v in r.values()
            ]
            for r in rows
        ],
        list(rows[0]),
    )
    return f"{text}\n\nreport {out}; all trials {csv_path}"


def _write_html(
    studies: list[tuple[optuna.Study, StudySpec]],
    costs: list[StudyCost],
    headline: pd.DataFrame,
    out: Path,
) -> None:
    figures: list[tuple[str, go.Figure]] = []
    curves = go.Figure()
    for c in costs:
        curves.add_trace(
            go.Scatter(
                x=[x for x, _ in c.curve],
                y=[y for _, y in c.curve],
                mode="lines+markers",
                name=f"{c.name} ({c.plan})",
                line_shape="hv",
            )
        )
    curves.update_layout(
        xaxis_title="epochs trained (cumulative)",
        yaxis_title="best validation class accuracy so far",
    )
    figures.append(("Best so far against cost", curves))
    for study, spec in studies:
        done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
        if len(done) < 2:
            continue
        dims = [
            dict(label=f"log10 {p}", values=[math.log10(t.params[p]) for t in done])
            if spec.plan.space[p].log
            else dict(label=p, values=[t.params[p] for t in done])
            for p in spec.plan.space
        ]
        dims.append(dict(label="class_acc", values=[t.value for t in done]))
        par = go.Figure(
            go.Parcoords(
                line=dict(color=[t.value for t in done], colorscale="Viridis", showscale=True),
                dimensions=dims,
            )
        )
        figures.append((f"Parallel coordinates: {study.study_name}", par))
        try:
            importance = optuna.importance.get_param_importances(study)
            figures.append(
                (
                    f"Parameter importances: {study.study_name}",
                    go.Figure(
                        go.Bar(
                            x=list(importance.values()), y=list(importance.keys()), orientation="h"
                        )
                    ),
                )
            )
        except (RuntimeError, ValueError):
            pass  # too few distinct values for fANOVA
    stage_rows = []
    for study, spec in studies:
        for s, stage in enumerate(
            spec.plan.stages + ((type(spec.plan.stages[0])("tpe", {}),) if spec.tpe else ())
        ):
            best = best_trial(
                [
                    record_of(t)
                    for t in study.get_trials(deepcopy=False)
                    if t.user_attrs.get("stage") == s
                ]
            )
            if best:
                stage_rows.append(
                    {
                        "study": study.study_name,
                        "stage": f"{s + 1} {stage.name}",
                        "winner": f"#{best.number}",
                        "class_acc": round(best.value, 4),
                        **{k: f"{v:g}" for k, v in best.params.items()},
                    }
                )
    parts = [
        "<html><head><meta charset='utf-8'><title>spacehpo compare</title>",
        "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>",
        "<h1>spacehpo: staged plan against the full grid</h1>",
        headline.to_html(index=False, na_rep="-"),
        "<h2>Stage winners</h2>",
        pd.DataFrame(stage_rows).to_html(index=False),
    ]
    for i, (title, fig) in enumerate(figures):
        parts += [
            f"<h2>{title}</h2>",
            fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False),
        ]
    parts.append("</body></html>")
    out.write_text("\n".join(parts))
