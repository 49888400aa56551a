"""What replaying a plan over many seeds says: its cost, how often it ends at the best
configuration, its regret, and what it costs to come within the noise of the best.

"True" here is the table's own verdict over ALL its recorded repeats, by the ranking rule
(`hpo/core/ranking.py`): the best configuration has the best mean, and the noise is the pooled
repeat-to-repeat standard deviation. A plan "comes within the noise" when the configuration it
would pick has a true mean at most one noise below the best's.
"""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.ranking import PointResult, TrialRecord, point_results, pooled_spread
from spacehpo.hpo.replay.simulate import ReplayPlan, Run, parse_plan, simulate
from spacehpo.hpo.replay.table import Table

WITHIN_SHARE = 0.9  # "reliably within noise": in at least this share of seeds
TOP = 5


@dataclass(frozen=True)
class Truth:
    """Every configuration over all its recorded repeats (`points[config]`), best first in
    `ranking`; `noise` is None when the table has one repeat (then "within noise" means the
    best itself)."""

    points: tuple[PointResult, ...]
    ranking: tuple[int, ...]
    noise: float | None

    @property
    def best(self) -> int:
        return self.ranking[0]

    def regret(self, config: int) -> float:
        return self.points[self.best].mean - self.points[config].mean

    def within(self, config: int) -> bool:
        return self.regret(config) <= (self.noise or 0.0) + 1e-12


def truth_of(table: Table) -> Truth:
    recorded = [
        TrialRecord(c * table.repeats + r, TrialState.COMPLETE, 0, c, params, value, tie_break, r)
        for c, params in enumerate(table.configs)
        for r, (value, tie_break) in enumerate(table.outcomes[c])
    ]
    ranked = point_results(recorded)
    by_config = sorted(ranked, key=lambda p: p.point)
    return Truth(tuple(by_config), tuple(p.point for p in ranked), pooled_spread(ranked))


@dataclass(frozen=True)
class Band:
    """Regret of the best-so-far pick against epochs spent: median and 5-95% over seeds."""

    epochs: tuple[int, ...]
    low: tuple[float, ...]
    median: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class PlanSummary:
    plan: str
    seeds: int
    epochs: float  # mean over seeds
    cost: float  # epochs over the full grid's (every configuration once, every epoch)
    top1: float  # share of seeds ending at the true best configuration
    top5: float
    regret_median: float
    regret_low: float  # 5th percentile over seeds
    regret_high: float  # 95th
    within_noise: float  # share of seeds whose final pick is within the noise of the best
    reached_noise: float  # share of seeds whose best-so-far pick came within it at some point
    cost_to_noise: float | None  # median epochs until then; None when most seeds never did
    modal_pick: int  # the configuration most seeds end at
    band: Band


def _reached(run: Run, truth: Truth) -> float:
    """Epochs spent when the best-so-far pick first came within the noise (inf: never)."""
    return next((float(e) for e, c in run.trace if c is not None and truth.within(c)), float("inf"))


def band_of(runs: list[Run], truth: Truth) -> Band:
    """A finished run keeps its final regret: the x axis is a budget, not the run's length."""
    x = np.arange(1, max(r.epochs for r in runs) + 1)
    y = np.full((len(runs), len(x)), np.nan)
    for i, run in enumerate(runs):
        spent = np.array([e for e, _ in run.trace])
        regret = np.array([np.nan if c is None else truth.regret(c) for _, c in run.trace])
        index = np.searchsorted(spent, x, side="right") - 1
        y[i] = np.where(index >= 0, regret[np.maximum(index, 0)], np.nan)
    keep = ~np.all(np.isnan(y), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, median, high = np.nanpercentile(y[:, keep], [5, 50, 95], axis=0)
    return Band(tuple(int(v) for v in x[keep]), tuple(low), tuple(median), tuple(high))


def summarise(plan: str, runs: list[Run], truth: Truth, table: Table) -> PlanSummary:
    regrets = np.array([truth.regret(r.pick) for r in runs])
    reached = np.array([_reached(r, truth) for r in runs])
    to_noise = float(np.median(reached))
    epochs = statistics.fmean(r.epochs for r in runs)
    low, median, high = np.percentile(regrets, [5, 50, 95])
    return PlanSummary(
        plan,
        len(runs),
        epochs,
        epochs / (len(table.configs) * table.epochs),
        statistics.fmean(r.pick == truth.best for r in runs),
        statistics.fmean(r.pick in truth.ranking[:TOP] for r in runs),
        float(median),
        float(low),
        float(high),
        statistics.fmean(truth.within(r.pick) for r in runs),
        float(np.mean(np.isfinite(reached))),
        to_noise if np.isfinite(to_noise) else None,
        Counter(r.pick for r in runs).most_common(1)[0][0],
        band_of(runs, truth),
    )


def replay(
    table: Table,
    plans: list[str],
    seeds: int,
    on_plan: Callable[[str, int], None] | None = None,
    jobs: int = 1,
) -> list[PlanSummary]:
    """Every plan over seeds 0..seeds-1; every plan name is checked before any is run. Runs are
    independent, so they spread over `jobs` processes; each is seeded, so the result does
    not depend on how many."""
    parsed = [parse_plan(p) for p in plans]
    truth = truth_of(table)
    tasks = [(plan, seed) for plan in parsed for seed in range(seeds)]
    runs: list[Run] = []
    summaries = []
    for run in _runs(table, tasks, min(jobs, len(tasks))):
        runs.append(run)
        if len(runs) == seeds:
            plan = parsed[len(summaries)]
            summaries.append(summarise(plan.name, runs, truth, table))
            runs = []
            if on_plan is not None:
                on_plan(plan.name, seeds)
    return summaries


def _simulate_chunk(job: tuple[Table, list[tuple[ReplayPlan, int]]]) -> list[Run]:
    table, tasks = job
    return [simulate(plan, table, seed) for plan, seed in tasks]


def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per simulated trial


def _runs(table: Table, tasks: list[tuple[ReplayPlan, int]], jobs: int) -> Iterator[Run]:
    """The runs in task order, in this process or over a pool of processes. Each chunk of tasks
    carries the table with it (a few hundred rows), so no process keeps it in a global."""
    size = max(1, len(tasks) // (8 * jobs))
    chunks = [(table, tasks[i : i + size]) for i in range(0, len(tasks), size)]
    verbosity = optuna.logging.get_verbosity()
    _quiet()
    try:
        if jobs <= 1:
            for chunk in chunks:
                yield from _simulate_chunk(chunk)
            return
        with ProcessPoolExecutor(jobs, initializer=_quiet) as pool:
            for runs in pool.map(_simulate_chunk, chunks):
                yield from runs
    finally:
        optuna.logging.set_verbosity(verbosity)


def cheapest_within_noise(summaries: list[PlanSummary]) -> PlanSummary | None:
    """The cheapest plan whose pick is within the noise of the best in >= 90% of seeds."""
    reliable = [s for s in summaries if s.within_noise >= WITHIN_SHARE]
    return min(reliable, key=lambda s: s.epochs) if reliable else None
