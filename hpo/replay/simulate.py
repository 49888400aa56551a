"""One simulated run of a search plan on a recorded table, with the real engine code.

Grid plans step through the real `progress()`; pruners are the real `build_pruner(...)` on an
in-memory Optuna study whose trials carry the same record as a worker writes (`TrialWriter`),
asked `should_prune()` after each epoch as `trial_run.py` does; TPE is the same sampler the
workers' continuation uses. One simulated worker runs trials in enqueue order. Each simulated
trial draws one recorded repeat at random, so the seed-to-seed noise of training enters every
plan, grids included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState
from spacehpo.hpo.core import tpe
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.named_plans import resolve_plan
from spacehpo.hpo.core.plans import Done, Enqueue, Plan, Stage, progress
from spacehpo.hpo.core.pruning import build_pruner
from spacehpo.hpo.core.ranking import PointResult, TrialRecord, best_point
from spacehpo.hpo.core.space import ParamValue, show_params
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.replay.table import Table
from spacehpo.model.metrics import TIE_BREAK

SAMPLERS = ("random", "tpe")
PLAN_FORMS = (
    "staged, full, outlook or a .toml plan, or random:N or tpe:N; then optionally "
    "+median, +percentile:P or +hyperband (a pruner) and, after a grid, +tpe:N"
)


@dataclass(frozen=True)
class ReplayPlan:
    """`staged+tpe:10`, `full+hyperband`, `random:22`: a grid or a sampler, a pruner, and the
    TPE trials that continue a grid."""

    name: str
    grid: Plan | None
    sampler: str | None  # "random" or "tpe" when there is no grid
    trials: int  # the sampler's trials, or the TPE trials after the grid
    pruner: str = "none"

    def grid_on(self, table: Table) -> Plan | None:
        """`full` is the table's own grid: every recorded configuration, in recorded order."""
        if self.grid is None or self.name.split("+")[0] != "full":
            return self.grid
        values: dict[str, list] = {p: [] for p in table.params}
        for config in table.configs:
            for p, v in config.items():
                if v not in values[p]:
                    values[p].append(v)
        return Plan("full", (Stage("full grid", {p: tuple(v) for p, v in values.items()}),))


def _count(name: str, part: str) -> int:
    text = part.partition(":")[2]
    if not text.isdigit() or int(text) < 1:
        raise HpoError(f"plan {name!r}: {part!r} needs a positive number of trials")
    return int(text)


def parse_plan(name: str) -> ReplayPlan:
    """The one reading of a replay plan name; anything else is one line naming the forms."""
    head, *tail = name.split("+")
    grid, sampler, trials, pruner = None, None, 0, "none"
    if head.partition(":")[0] in SAMPLERS:
        sampler, trials = head.partition(":")[0], _count(name, head)
    elif head in ("staged", "full", "outlook") or head.endswith(".toml"):
        grid = resolve_plan(head)
    else:
        raise HpoError(f"unknown plan {name!r}: use {PLAN_FORMS}")
    for part in tail:
        if part.startswith("tpe:") and grid is not None and not trials:
            trials = _count(name, part)
        elif pruner == "none" and part != "none":
            try:
                build_pruner(part, 2)
            except HpoError:
                raise HpoError(f"unknown plan {name!r}: use {PLAN_FORMS}") from None
            pruner = part
        else:
            raise HpoError(f"unknown plan {name!r}: use {PLAN_FORMS}")
    return ReplayPlan(name, grid, sampler, trials, pruner)


@dataclass(frozen=True)
class SimTrial:
    config: int
    repeat: int  # the recorded repeat it drew
    epochs: int  # what it spent
    pruned: bool


@dataclass(frozen=True)
class Run:
    """One seed of one plan: its trials in order, the best-so-far pick after each, and the pick."""

    plan: str
    seed: int
    trials: tuple[SimTrial, ...]
    records: tuple[TrialRecord, ...]
    trace: tuple[tuple[int, int | None], ...]  # (epochs spent so far, best configuration so far)
    pick: int

    @property
    def epochs(self) -> int:
        return sum(t.epochs for t in self.trials)


def simulate(plan: ReplayPlan, table: Table, seed: int) -> Run:
    return _Sim(plan, table, seed).run()


class _Sim:
    """One simulated worker. The in-memory study exists only when a pruner or TPE needs it."""

    def __init__(self, plan: ReplayPlan, table: Table, seed: int) -> None:
        self.plan, self.table, self.seed = plan, table, seed
        self.grid = plan.grid_on(table)
        self.rng = np.random.default_rng(seed)
        self.trials: list[SimTrial] = []
        self.records: list[TrialRecord] = []
        self.trace: list[tuple[int, int | None]] = []
        self.best: PointResult | None = None
        self.spent = 0
        self.study = self._study() if plan.pruner != "none" or self._tpe_trials else None
        self.dists = {
            p: CategoricalDistribution(sorted({c[p] for c in table.configs}, key=str))
            for p in table.params
        }

    @property
    def _tpe_trials(self) -> int:
        return self.plan.trials if self.plan.sampler == "tpe" or self.plan.grid else 0

    def _study(self) -> optuna.Study:
        return optuna.create_study(
            storage=optuna.storages.InMemoryStorage(),
            study_name=f"replay-{self.seed}",
            direction="maximize",
            sampler=optuna.samplers.RandomSampler(seed=self.seed),
            pruner=build_pruner(self.plan.pruner, self.table.epochs),
        )

    def run(self) -> Run:
        if self.grid is not None:
            self._grid(self.grid)
        if self.plan.sampler == "random":
            self._random(self.plan.trials)
        elif self._tpe_trials:
            self._tpe(self.plan.trials, tpe.stage(self.grid) if self.grid else None)
        best = best_point(self.records)
        if best is None:
            raise HpoError(f"plan {self.plan.name!r}: no simulated trial completed")
        pick = self._config(best.params)
        return Run(
            self.plan.name,
            self.seed,
            tuple(self.trials),
            tuple(self.records),
            tuple(self.trace),
            pick,
        )

    def _grid(self, plan: Plan) -> None:
        """The real plan progression; one worker, so every enqueued trial finishes in order."""
        while isinstance(action := progress(plan, self.records), Enqueue):
            self._run_configs(
                [p.params for p in action.points], action.stage, [p.point for p in action.points]
            )
        assert isinstance(action, Done), action  # one worker never waits

    def _random(self, n: int) -> None:
        if n > len(self.table.configs):
            raise HpoError(
                f"plan {self.plan.name!r}: {n} trials, but the table has "
                f"{len(self.table.configs)} configurations"
            )
        chosen = self.rng.permutation(len(self.table.configs))[:n]
        self._run_configs([self.table.configs[c] for c in chosen], None, [None] * n)

    def _run_configs(self, params: list[dict], stage: int | None, points: list) -> None:
        configs = [self._config(p) for p in params]
        if self._tpe_trials:  # all enqueued first, as a worker's claim does, for TPE to see
            for p in params:
                self.study.enqueue_trial(p)
        for config, point in zip(configs, points, strict=True):
            self._trial(stage, point, config)

    def _tpe(self, n: int, stage: int | None) -> None:
        """The workers' TPE continuation, seeded as theirs (seed + trials so far)."""
        for i in range(n):
            self.study.sampler = tpe.sampler(self.seed + len(self.records))
            self._trial(stage, i if stage is not None else None, None)

    def _config(self, params: dict[str, ParamValue]) -> int:
        config = self.table.config_of(params)
        if config is None:
            raise HpoError(
                f"plan {self.plan.name!r}: configuration {show_params(params)} is not in the table"
            )
        return config

    def _trial(self, stage: int | None, point: int | None, config: int | None) -> None:
        repeat = int(self.rng.integers(self.table.repeats))
        if self.study is not None:
            # Pruners never read params: only TPE's study needs them (and the time they cost).
            trial = self.study.ask(self.dists if self._tpe_trials else None)
            config = self._config(trial.params) if self._tpe_trials else config
            epochs, pruned = self._optuna_trial(trial, config, repeat)
        else:
            epochs, pruned = self.table.epochs, False
        value, tie_break = self.table.outcomes[config][repeat]
        state = TrialState.PRUNED if pruned else TrialState.COMPLETE
        record = TrialRecord(
            len(self.records),
            state,
            stage,
            point,
            self.table.configs[config],
            None if pruned else value,
            None if pruned else tie_break,
        )
        self._add(SimTrial(config, repeat, epochs, pruned), record)

    def _optuna_trial(self, trial: optuna.Trial, config: int, repeat: int) -> tuple[int, bool]:
        """Epoch by epoch as `TrialRun.report`: the record, then the pruner's question."""
        curves, objective = self.table.curves[config][repeat], self.table.objective
        value, tie_break = self.table.outcomes[config][repeat]
        writer = TrialWriter(trial)
        if self.plan.pruner != "none":
            for epoch in range(1, self.table.epochs + 1):
                writer.epoch(epoch, curves.upto(epoch), epoch, objective)
                if trial.should_prune():
                    self.study.tell(trial, state=TrialState.PRUNED)
                    return epoch, True
        best = {
            objective: value,
            **({TIE_BREAK[objective]: tie_break} if tie_break is not None else {}),
        }
        writer.result(best, {})
        self.study.tell(trial, value)
        return self.table.epochs, False

    def _add(self, trial: SimTrial, record: TrialRecord) -> None:
        """The best so far, by the ranking rule. Every simulated trial is its own configuration
        (one repeat per plan point), so the best of (best so far, new trial) is the best of all."""
        self.trials.append(trial)
        self.records.append(record)
        self.spent += trial.epochs
        if record.state == TrialState.COMPLETE:
            self.best = best_point([*(self.best.trials if self.best else ()), record])
        best = self._config(self.best.params) if self.best else None
        self.trace.append((self.spent, best))
