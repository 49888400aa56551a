"""What `spacehpo replay` shows: the table's rows (as data), the noise in words, the cheapest
reliable plan, and one self-contained HTML page (plotly inlined) with regret against cost."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from spacehpo.hpo.core.ranking import noise_verdict, show_spread
from spacehpo.hpo.core.space import show_params
from spacehpo.hpo.replay.stats import (
    TOP,
    WITHIN_SHARE,
    PlanSummary,
    Truth,
    cheapest_within_noise,
)
from spacehpo.hpo.replay.table import Table

HEADERS = [
    "plan",
    "epochs",
    "cost",
    "top-1",
    f"top-{TOP}",
    "regret median",
    "regret 5-95%",
    "within noise",
    "ever within",
    "epochs to noise",
]
BEST = "full grid (all repeats)"
STYLE = (
    "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} "
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
)


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def summary_rows(summaries: list[PlanSummary]) -> list[list[Any]]:
    """One row per plan, already worded for the table (the JSON carries the numbers)."""
    return [
        [
            s.plan,
            round(s.epochs),
            _pct(s.cost),
            _pct(s.top1),
            _pct(s.top5),
            f"{s.regret_median:.4f}",
            f"{s.regret_low:.4f}..{s.regret_high:.4f}",
            _pct(s.within_noise),
            _pct(s.reached_noise),
            "-" if s.cost_to_noise is None else round(s.cost_to_noise),
        ]
        for s in summaries
    ]


def summary_data(summaries: list[PlanSummary], truth: Truth, table: Table) -> dict[str, Any]:
    """What JSON and YAML print: the numbers unrounded, picks as their params."""
    plans = [
        {
            **{k: v for k, v in vars(s).items() if k not in ("band", "modal_pick")},
            "modal_pick": table.configs[s.modal_pick],
        }
        for s in summaries
    ]
    return {
        "objective": table.objective,
        "best": table.configs[truth.best],
        "noise": truth.noise,
        "plans": plans,
        "cheapest_within_noise": _cheapest_data(summaries),
    }


def _cheapest_data(summaries: list[PlanSummary]) -> dict[str, Any] | None:
    found = cheapest_within_noise(summaries)
    return {"plan": found.plan, "cost": found.cost} if found else None


def noise_lines(summaries: list[PlanSummary], truth: Truth, table: Table) -> list[str]:
    """The rule, the best, and each plan's usual pick in words (`ranking.noise_verdict`)."""
    best = truth.points[truth.best]
    lines = [
        f"best by mean over {table.repeats} repeat(s): {show_params(best.params)}: "
        f"{show_spread(table.objective, best.mean, best.spread, len(best.values))}",
        "within noise: a pick whose mean is at most the noise below the best's; noise = "
        + (
            f"{truth.noise:.4f}, the repeat-to-repeat standard deviation pooled over "
            f"{len(table.configs)} configurations"
            if truth.noise is not None
            else "unknown with one repeat, so only the best itself counts"
        ),
    ]
    for s in summaries:
        verdict = noise_verdict(truth.points[s.modal_pick], best, (s.plan, BEST))
        lines.append(f"{s.plan} (its most frequent pick): {verdict}")
    picks = {s.plan: truth.points[s.modal_pick] for s in summaries}
    if "staged" in picks and "full" in picks:  # the question users bring: was staged enough?
        lines.append(noise_verdict(picks["staged"], picks["full"], ("staged", "full")))
    return lines


def cheapest_line(summaries: list[PlanSummary]) -> str:
    found = cheapest_within_noise(summaries)
    if found is None:
        return f"no plan came within the noise of the best in {_pct(WITHIN_SHARE)} of seeds"
    return (
        f"cheapest plan within the noise of the best in >= {_pct(WITHIN_SHARE)} of seeds: "
        f"{found.plan}, at {_pct(found.cost)} of the full grid's epochs"
    )


def regret_figure(summaries: list[PlanSummary], truth: Truth, table: Table) -> go.Figure:
    """Regret of the pick so far against the share of the full grid's epochs spent: the median
    over seeds as a line, 5-95% as a band, the noise as a dashed line."""
    full = len(table.configs) * table.epochs
    fig = go.Figure()
    for i, s in enumerate(summaries):
        colour = _colour(i)
        x = [100 * e / full for e in s.band.epochs]
        fig.add_trace(_band_trace(x, s, colour))
        line = dict(color=colour, shape="hv")
        fig.add_trace(
            go.Scatter(x=x, y=list(s.band.median), name=s.plan, line=line, legendgroup=s.plan)
        )
    if truth.noise:
        fig.add_hline(y=truth.noise, line_dash="dash", annotation_text="noise")
    fig.update_layout(
        xaxis_title="epochs spent, % of the full grid's",
        yaxis_title=f"regret in {table.objective} (best mean - pick's mean)",
    )
    return fig


def _band_trace(x: list[float], s: PlanSummary, colour: str) -> go.Scatter:
    return go.Scatter(
        x=x + x[::-1],
        y=list(s.band.high) + list(s.band.low)[::-1],
        fill="toself",
        fillcolor=colour.replace("rgb", "rgba").replace(")", ",0.15)"),
        line=dict(width=0),
        hoverinfo="skip",
        legendgroup=s.plan,
        showlegend=False,
    )


def _colour(i: int) -> str:
    palette = [
        "rgb(31,119,180)",
        "rgb(255,127,14)",
        "rgb(44,160,44)",
        "rgb(214,39,40)",
        "rgb(148,103,189)",
        "rgb(140,86,75)",
        "rgb(227,119,194)",
        "rgb(127,127,127)",
    ]
    return palette[i % len(palette)]


def write_html(summaries: list[PlanSummary], truth: Truth, table: Table, path: Path) -> Path:
    """One file, plotly inlined, so it can be mailed or archived without a server."""
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in summary_rows(summaries)
    )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    words = "".join(
        f"<p>{html.escape(line)}</p>"
        for line in [*noise_lines(summaries, truth, table), cheapest_line(summaries)]
    )
    figure = regret_figure(summaries, truth, table).to_html(full_html=False, include_plotlyjs=True)
    title = f"spacehpo replay: {html.escape(table.source or table.plan)}"
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<p>{summaries[0].seeds if summaries else 0} seeds per plan; {len(table.configs)} "
        f"configurations x {table.repeats} repeats x {table.epochs} epochs</p>"
        f"<table><tr>{head}</tr>{rows}</table>{words}{figure}</body></html>"
    )
    return path
