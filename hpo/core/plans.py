"""Search plans as data, and the pure functions that say what a study should run next.

A plan is a list of stages. Each stage sweeps a grid over some parameters, takes some others
from the best trial so far (`inherit`) and fixes the rest. `progress()` looks at the trials a
study holds and answers: enqueue these points, wait for this stage, or the plan is done.
The workers and `StagedGridSampler` both call it, so they cannot disagree.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from optuna.trial import TrialState
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.ranking import TrialRecord, best_trial
from spacehpo.hpo.core.space import (
    Dimension,
    ParamValue,
    Range,
    dimension_from_dict,
    is_number,
    same_params,
)
from spacehpo.model.config import HYPERPARAMETERS

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


# The detector's tuned hyperparameters (named once, in model/config.py), each over a range wider
# than the report's grid, so a TPE continuation can leave it.
DEFAULT_SPACE: dict[str, Dimension] = dict(
    zip(
        HYPERPARAMETERS,
        (
            Range(1e-5, 3e-3, log=True),  # lr
            Range(1e-6, 1e-2, log=True),  # weight_decay
            Range(0.2, 1.5),  # sigma
            Range(1.0, 20.0),  # k
            Range(1.0, 12.0),  # box_weight
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class Stage:
    name: str
    grid: dict[str, tuple[ParamValue, ...]]
    inherit: tuple[str, ...] = ()
    fixed: dict[str, ParamValue] = field(default_factory=dict)

    def points(self, inherited: dict[str, ParamValue]) -> list[dict[str, ParamValue]]:
        """The stage's grid, first parameter varying slowest, completed by inherited and fixed values."""
        base = {**self.fixed, **{p: inherited[p] for p in self.inherit}}
        keys = list(self.grid)
        return [
            {**base, **dict(zip(keys, values, strict=True))}
            for values in itertools.product(*self.grid.values())
        ]


@dataclass(frozen=True)
class Plan:
    name: str
    stages: tuple[Stage, ...]
    space: dict[str, Dimension] = field(default_factory=lambda: dict(DEFAULT_SPACE))
    reuse_repeats: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Plan:
        stages = tuple(
            Stage(
                s["name"],
                {k: tuple(v) for k, v in s["grid"].items()},
                tuple(s["inherit"]),
                dict(s["fixed"]),
            )
            for s in d["stages"]
        )
        return Plan(
            d["name"],
            stages,
            {k: dimension_from_dict(v) for k, v in d["space"].items()},
            d["reuse_repeats"],
        )

    @property
    def size(self) -> int:
        return sum(math.prod(len(v) for v in s.grid.values()) for s in self.stages)

    @property
    def is_full_grid(self) -> bool:
        """One stage sweeping every parameter: the grid that compare measures others against and
        replay can read a table from, whatever the plan is called."""
        return len(self.stages) == 1 and set(self.stages[0].grid) == set(self.space)


LR, WD = (1e-4, 3e-4), (1e-4, 1e-5)
SIGMA, K, BOX = (0.3, 0.5, 0.7), (6.0, 8.0, 10.0), (3.0, 5.0, 8.0)


def staged_plan(reuse_repeats: bool = False) -> Plan:
    """The report's plan: 4 + 9 + 9 = 22 trials, each stage inheriting the best so far."""
    return Plan(
        "staged",
        (
            Stage(
                "lr x weight_decay",
                {"lr": LR, "weight_decay": WD},
                (),
                {"sigma": 0.5, "k": 8.0, "box_weight": 5.0},
            ),
            Stage(
                "sigma x k", {"sigma": SIGMA, "k": K}, ("lr", "weight_decay"), {"box_weight": 5.0}
            ),
            Stage("k x box_weight", {"k": K, "box_weight": BOX}, ("lr", "weight_decay", "sigma")),
        ),
        reuse_repeats=reuse_repeats,
    )


def full_plan() -> Plan:
    """All 2 * 2 * 3 * 3 * 3 = 108 combinations of the same values."""
    return Plan(
        "full",
        (
            Stage(
                "full grid",
                {"lr": LR, "weight_decay": WD, "sigma": SIGMA, "k": K, "box_weight": BOX},
            ),
        ),
    )


def validate(plan: Plan) -> Plan:
    """Every stage must set every parameter exactly once, within the recorded space."""
    if not plan.stages:
        raise HpoError(f"plan {plan.name!r}: no stages")
    for i, stage in enumerate(plan.stages):
        where = f"plan {plan.name!r} stage {i + 1} ({stage.name})"
        names = [*stage.grid, *stage.inherit, *stage.fixed]
        if sorted(names) != sorted(set(names)) or set(names) != set(plan.space):
            raise HpoError(
                f"{where}: grid + inherit + fixed must name each of {', '.join(plan.space)} once"
            )
        if i == 0 and stage.inherit:
            raise HpoError(f"{where}: the first stage has nothing to inherit from")
        for name, values in [*stage.grid.items(), *((k, (v,)) for k, v in stage.fixed.items())]:
            _check_values(where, name, values, plan.space[name])
    return plan


def _check_values(where: str, name: str, values: tuple, dimension: Dimension) -> None:
    if not values:
        raise HpoError(f"{where}: {name} has no values")
    if isinstance(dimension, Range) and not all(is_number(v) for v in values):
        raise HpoError(f"{where}: {name} values must be numbers, got {list(values)!r}")
    if not all(dimension.admits(v) for v in values):
        raise HpoError(f"{where}: {name} values {list(values)} outside {dimension.describe()}")


@dataclass(frozen=True)
class Repeats:
    """How often each plan point runs: `base` times (`--repeats`), or more for the points
    `study extend --repeat-top` chose, keyed by (stage, point)."""

    base: int = 1
    more: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.base < 1:
            raise HpoError(f"--repeats {self.base}: each point must run at least once")

    def of(self, stage: int, point: int) -> int:
        return max(self.base, self.more.get((stage, point), 0))


@dataclass(frozen=True)
class Planned:
    """One trial to enqueue: a point of the stage, one of its repeats."""

    point: int
    repeat: int
    params: dict[str, ParamValue]


@dataclass(frozen=True)
class Enqueue:
    stage: int
    points: list[Planned]
    inherited_from: int | None


@dataclass(frozen=True)
class Wait:
    stage: int
    reason: str


@dataclass(frozen=True)
class TakeWaiting:
    """The stage's points are all queued and some still wait: a worker takes one."""


@dataclass(frozen=True)
class Done:
    reason: str = ""


# What `progress()` says the study does next. A worker acts on it in `engine/claim.py`, whose
# `claim()` hands the worker a `Claimed` trial, or passes on `Wait` and `Done`.
Step = Enqueue | TakeWaiting | Wait | Done


def latest_attempts(records: list[TrialRecord]) -> dict[tuple[int, int, int], TrialRecord]:
    """The latest trial of each (stage, point, repeat): a retry supersedes the attempt it replaces."""
    latest: dict[tuple[int, int, int], TrialRecord] = {}
    for r in sorted(records, key=lambda r: r.number):
        if r.stage is not None:
            latest[(r.stage, r.point, r.repeat)] = r
    return latest


def duplicates(records: list[TrialRecord]) -> dict[int, int]:
    """Trial number -> the earlier trial whose plan position it copies.

    A position has at most one live (not FAIL) trial at a time: a retry is queued only once its
    attempt has failed. A second live one is a copy: Optuna's own retry of an enqueue whose
    commit was in doubt, or a stage enqueued twice by a lock its server dropped. The earliest
    stands: it is the only one anyone could have claimed first (docs/engine.md)."""
    first: dict[tuple[int, int | None, int], int] = {}
    copies: dict[int, int] = {}
    for r in sorted(records, key=lambda r: r.number):
        if r.stage is None or r.state == TrialState.FAIL:
            continue
        key = (r.stage, r.point, r.repeat)
        if key in first:
            copies[r.number] = first[key]
        else:
            first[key] = r.number
    return copies


def progress(plan: Plan, records: list[TrialRecord], repeats: Repeats = Repeats()) -> Step:
    """The next step of the plan. A stage whose enqueueing was cut short (its worker killed
    mid-way) gets its missing points: the earlier stages are finished by then, so the best
    trial it inherits from, and hence its points, are the same as when it started."""
    attempts = latest_attempts(records)
    for s, stage in enumerate(plan.stages):
        latest = {(p, rep): r for (st, p, rep), r in attempts.items() if st == s}
        earlier = [r for r in records if r.stage is not None and r.stage < s]
        best = best_trial(earlier)
        if not latest and stage.inherit and best is None:
            return Done(
                f"stage {s + 1} ({stage.name}) cannot start: no trial of earlier stages completed"
            )
        planned = _planned(plan, s, best, earlier, latest, repeats)
        missing = [p for p in planned if (p.point, p.repeat) not in latest]
        if missing:
            return Enqueue(s, missing, best.number if best else None)
        if any(r.state == TrialState.WAITING for r in latest.values()):
            return TakeWaiting()
        running = [r.number for r in latest.values() if r.state not in FINISHED]
        if running:
            return Wait(
                s,
                f"stage {s + 1} ({stage.name}) waits for trial(s) {', '.join(map(str, running))} to finish",
            )
    return Done()


def _planned(
    plan: Plan,
    s: int,
    best: TrialRecord | None,
    earlier: list[TrialRecord],
    latest: dict[tuple[int, int], TrialRecord],
    repeats: Repeats,
) -> list[Planned]:
    """Stage `s`'s trials. A point that has run keeps its params: repeats added later to an
    earlier stage may change the best it inherited from, but not a point already started."""
    started = {point: r.params for (point, _), r in sorted(latest.items(), reverse=True)}
    points = list(enumerate(plan.stages[s].points(best.params if best else {})))
    if plan.reuse_repeats:
        finished = [r for r in earlier if r.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        points = [(i, p) for i, p in points if not any(same_params(p, r.params) for r in finished)]
    return [
        Planned(i, rep, started.get(i, params))
        for i, params in points
        for rep in range(repeats.of(s, i))
    ]
