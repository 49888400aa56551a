"""Did a study run its plan exactly once? Read from the finished trials alone, so it judges the
engine from outside: the same audit serves the fault tests and `python -m spacehpo.bench.chaos`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.record import epochs_run_of, is_duplicate, position_of

DONE = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Audit:
    points: int  # plan positions (stage, point, repeat) the study holds
    done_once: int  # positions with exactly one COMPLETE or PRUNED trial
    done_twice: int  # positions with more than one: a point trained twice
    duplicates_cancelled: int  # copies the engine found and cancelled before anyone trained them
    duplicates_trained: int  # copies that trained at least one epoch
    strays: int  # trials outside the plan (no position)
    unfinished: int  # trials left RUNNING or WAITING
    retries: int  # failed attempts a later attempt replaced (kills, cuts, stale beats)
    epochs_retrained: int  # epochs trained beyond each position's final curve

    def exactly_once(self, expected_points: int) -> bool:
        return (
            self.points == expected_points
            and self.done_once == expected_points
            and self.done_twice == 0
            and self.duplicates_trained == 0
            and self.unfinished == 0
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def audit(trials: list[FrozenTrial]) -> Audit:
    by_position: dict[tuple[int, int, int], list[FrozenTrial]] = defaultdict(list)
    strays = 0
    for t in trials:
        position = position_of(t)
        if position is None:
            strays += 1
        else:
            by_position[(position.stage, position.point, position.repeat)].append(t)
    done = [sum(t.state in DONE for t in ts) for ts in by_position.values()]
    duplicates = [t for t in trials if is_duplicate(t)]
    return Audit(
        points=len(by_position),
        done_once=sum(n == 1 for n in done),
        done_twice=sum(n > 1 for n in done),
        duplicates_cancelled=sum(epochs_run_of(t) == 0 for t in duplicates),
        duplicates_trained=sum(epochs_run_of(t) > 0 for t in duplicates),
        strays=strays,
        unfinished=sum(not t.state.is_finished() for t in trials),
        retries=sum(
            t.state == TrialState.FAIL and not is_duplicate(t)
            for ts in by_position.values()
            for t in ts
        ),
        epochs_retrained=sum(_retrained(ts) for ts in by_position.values()),
    )


def _retrained(attempts: list[FrozenTrial]) -> int:
    final = [t for t in attempts if t.state in DONE]
    kept = max((len(t.intermediate_values) for t in final), default=0)
    return sum(epochs_run_of(t) for t in attempts) - kept
