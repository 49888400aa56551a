"""Search decisions from a recorded table: each plan replayed over many seeds on the full grid's
curves (`spacehpo replay`), the staged plan's cost and hit rate against the full grid, and the
cheapest plan within the noise of the best. `bench.search --table` prints this.

    python -m spacehpo.bench.search --table bench/tables/full-128px.csv [--seeds 50] [--html replay.html]
        [--png docs/screenshots/replay.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spacehpo.bench.common import header
from spacehpo.cli.replay import DEFAULT_PLANS
from spacehpo.cli.tables import table
from spacehpo.hpo.launch.host import usable_cores
from spacehpo.hpo.replay import report
from spacehpo.hpo.replay.stats import PlanSummary, cheapest_within_noise, replay, truth_of
from spacehpo.hpo.replay.table import Table, read_table

# Budgets around a quarter of the full grid (27 of 108 configurations) and the report's plans.
PLANS = (
    "staged",
    "staged+tpe:10",
    "random:11",
    "random:22",
    "random:27",
    "tpe:11",
    "tpe:22",
    "tpe:27",
    "full+median",
    "full+hyperband",
    "full",
)
PICTURED = ("staged", "staged+tpe:10", "random:27", "tpe:27", "full+hyperband", "full")


def _statements(summaries: list[PlanSummary]) -> list[str]:
    staged = next(s for s in summaries if s.plan == "staged")
    lines = [
        f"staged: {staged.cost:.3f} of the full grid's epochs; ends at the best configuration in "
        f"{100 * staged.top1:.0f}% of seeds (top 5: {100 * staged.top5:.0f}%), within the noise "
        f"of the best in {100 * staged.within_noise:.0f}%"
    ]
    cheapest = cheapest_within_noise(summaries)
    lines.append(
        f"ratio: the cheapest plan within the noise of the best in >= 90% of seeds is "
        f"{cheapest.plan} at {cheapest.cost:.3f} of the full grid's cost (goal <= 0.25)"
        if cheapest
        else "ratio: no plan came within the noise of the best in 90% of seeds"
    )
    return lines


def write_png(summaries: list[PlanSummary], noise: float | None, path: Path) -> None:
    """The README's picture: regret of the best-so-far pick against epochs, median and 5-95%."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for s in summaries:
        ax.plot(s.band.epochs, s.band.median, label=s.plan, linewidth=1.6)
        ax.fill_between(s.band.epochs, s.band.low, s.band.high, alpha=0.12)
    if noise is not None:
        ax.axhline(noise, color="black", linestyle="--", linewidth=1, label="noise (1 sd)")
    ax.set_xscale("log")
    ax.set_xlabel("epochs spent")
    ax.set_ylabel("regret of the pick (objective, true mean)")
    ax.set_title(f"replay over {summaries[0].seeds} seeds: median and 5-95% band")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _default_plans_seconds(recorded: Table) -> float:
    start = time.perf_counter()
    replay(recorded, DEFAULT_PLANS.split(","), 50, jobs=usable_cores())
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> None:
    recorded = read_table(args.table)
    start = time.perf_counter()
    summaries = replay(recorded, list(PLANS), args.seeds, jobs=usable_cores())
    seconds = time.perf_counter() - start
    truth = truth_of(recorded)
    print(header(f"search decisions by replay, {args.table.name}, {args.seeds} seeds"))
    print(table(report.summary_rows(summaries), report.HEADERS))
    print("\n".join(report.noise_lines(summaries, truth, recorded)))
    print(f"replay of {len(PLANS)} plans x {args.seeds} seeds: {seconds:.1f} s")
    print(
        f"replay of the issue's 6 plans x 50 seeds: {_default_plans_seconds(recorded):.1f} s (target 10 s)"
    )
    print("\n".join(_statements(summaries)))
    if args.html:
        report.write_html(summaries, truth, recorded, Path(args.html))
    if args.png:
        shown = [s for s in summaries if s.plan in PICTURED]
        write_png(shown, truth.noise, Path(args.png))
