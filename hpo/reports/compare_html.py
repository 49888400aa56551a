"""The `spacehpo compare` report: one self-contained HTML file (plotly inlined once) that can be
mailed or archived without a server. Each figure has its own builder so it can be read alone;
the numbers come from `hpo/reports/compare.py`, the trial attributes from the trial record."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.ranking import best_point
from spacehpo.hpo.core.record import record_of, stage_label, stage_of, study_trials
from spacehpo.hpo.core.space import Choice, Dimension, show_value

STYLE = (
    "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} "
    "td,th{border:1px solid #ccc;padding:4px 8px}"
)
Figures = list[tuple[str, go.Figure]]


def best_so_far_figure(curves: dict[str, list[tuple[int, float]]], objective: str) -> go.Figure:
    """Best accuracy against epochs spent: the cost axis is epochs, so studies on different
    machines compare fairly."""
    fig = go.Figure()
    for label, curve in curves.items():
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in curve],
                y=[y for _, y in curve],
                mode="lines+markers",
                name=label,
                line_shape="hv",
            )
        )
    fig.update_layout(
        xaxis_title="epochs trained (cumulative)",
        yaxis_title=f"best configuration's validation {objective} so far",
    )
    return fig


def parallel_coordinates(
    done: list[FrozenTrial], space: dict[str, Dimension], objective: str
) -> go.Figure:
    """Log-scaled parameters on log10 axes, so the grid's points spread evenly; categories on
    an axis of their own, one tick per choice (never a log axis)."""
    dims = [_axis(name, dimension, done) for name, dimension in space.items()]
    dims.append(dict(label=objective, values=[t.value for t in done]))
    line = dict(color=[t.value for t in done], colorscale="Viridis", showscale=True)
    return go.Figure(go.Parcoords(line=line, dimensions=dims))


def _axis(name: str, dimension: Dimension, done: list[FrozenTrial]) -> dict:
    values = [t.params[name] for t in done]
    if isinstance(dimension, Choice):
        ticks = [show_value(c) for c in dimension.choices]
        index = [ticks.index(show_value(v)) for v in values]
        return dict(label=name, values=index, tickvals=list(range(len(ticks))), ticktext=ticks)
    if dimension.log:
        return dict(label=f"log10 {name}", values=[math.log10(v) for v in values])
    return dict(label=name, values=values)


def importances_figure(study: optuna.Study) -> go.Figure | None:
    """None where fANOVA cannot fit (too few distinct values): the report goes on without it."""
    try:
        importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return None
    return go.Figure(
        go.Bar(x=list(importance.values()), y=list(importance.keys()), orientation="h")
    )


def study_figures(study: optuna.Study, space: dict[str, Dimension], objective: str) -> Figures:
    """A study's own figures; they need at least two complete trials to show anything."""
    done = [t for t in study_trials(study) if t.state == TrialState.COMPLETE]
    if len(done) < 2:
        return []
    figures = [
        (f"Parallel coordinates: {study.study_name}", parallel_coordinates(done, space, objective))
    ]
    importance = importances_figure(study)
    if importance is not None:
        figures.append((f"Parameter importances: {study.study_name}", importance))
    return figures


def stage_winner_rows(study: optuna.Study, objective: str) -> list[dict[str, Any]]:
    """The trial each stage (TPE included) passed on, by the plan's own ranking rule."""
    trials = study_trials(study)
    by_number = {t.number: t for t in trials}
    stages = sorted({s for t in trials if (s := stage_of(t)) is not None})
    rows = []
    for s in stages:
        point = best_point([record_of(t, objective) for t in trials if stage_of(t) == s])
        if point is None:
            continue
        rows.append(
            {
                "study": study.study_name,
                "stage": stage_label(by_number[point.best.number]),
                "winner": f"#{point.best.number}",
                objective: round(point.mean, 4),
                "spread": round(point.spread, 4) if point.spread is not None else None,
                **{k: show_value(v) for k, v in point.params.items()},
            }
        )
    return rows


def page(headline: list[dict[str, Any]], winners: list[dict[str, Any]], figures: Figures) -> str:
    """Plotly's script is inlined with the first figure only: one copy keeps the file small."""
    parts = [
        "<html><head><meta charset='utf-8'><title>spacehpo compare</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>spacehpo: staged plan against the full grid</h1>",
        pd.DataFrame(headline).to_html(index=False, na_rep="-"),
        "<h2>Stage winners</h2>",
        pd.DataFrame(winners).to_html(index=False),
    ]
    for i, (title, fig) in enumerate(figures):
        script = "inline" if i == 0 else False
        parts += [f"<h2>{title}</h2>", fig.to_html(full_html=False, include_plotlyjs=script)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    studies: list[tuple[optuna.Study, dict[str, Dimension]]],
    curves: dict[str, list[tuple[int, float]]],
    headline: list[dict[str, Any]],
    out: Path,
    objective: str,
) -> None:
    figures: Figures = [("Best so far against cost", best_so_far_figure(curves, objective))]
    for study, space in studies:
        figures += study_figures(study, space, objective)
    winners = [row for study, _ in studies for row in stage_winner_rows(study, objective)]
    out.write_text(page(headline, winners, figures))
