"""Plan progression run on paper, because every worker decides what to enqueue, wait for or
take from these rules alone."""

from optuna.trial import TrialState
from spacehpo.hpo.core.plans import (
    Enqueue,
    Plan,
    Stage,
    TakeWaiting,
    Wait,
    duplicates,
    full_plan,
    progress,
    staged_plan,
)
from spacehpo.hpo.core.ranking import TrialRecord

from tests.hpo.engine_fixtures import on_paper


def test_staged_is_22_points_and_full_is_108() -> None:
    score = lambda p: (p["lr"] * 1000 + p["sigma"] - p["k"] / 100 + p["box_weight"] / 1000, 0.5)  # noqa: E731
    assert len(on_paper(staged_plan(), score)) == 22
    # Four points repeat earlier configurations exactly: stage 2's (sigma 0.5, k 8) is stage 1's
    # best, and stage 3's three (k, box_weight 5) points are stage 2's points at the inherited sigma.
    assert len(on_paper(staged_plan(reuse_repeats=True), score)) == 18
    records = on_paper(full_plan(), score)
    assert len(records) == 108 and len({tuple(sorted(r.params.items())) for r in records}) == 108


def test_stages_inherit_the_best_so_far() -> None:
    records = on_paper(
        staged_plan(),
        lambda p: (
            1 - abs(p["lr"] - 3e-4) * 100 - abs(p["sigma"] - 0.3) - abs(p["k"] - 10) / 100,
            0.5,
        ),
    )
    stage2 = [r for r in records if r.stage == 1]
    assert {(r.params["lr"], r.params["weight_decay"], r.params["box_weight"]) for r in stage2} == {
        (3e-4, 1e-4, 5.0)
    }
    stage3 = [r for r in records if r.stage == 2]
    assert {r.params["sigma"] for r in stage3} == {0.3}
    assert {(r.params["k"], r.params["box_weight"]) for r in stage3} == {
        (k, b) for k in (6, 8, 10) for b in (3, 5, 8)
    }


def test_barrier_waits_for_running_and_retried_points() -> None:
    plan = staged_plan()
    first = progress(plan, [])
    recs = [
        TrialRecord(i, TrialState.COMPLETE, 0, i, p, 0.5, 0.5)
        for i, p in ((q.point, q.params) for q in first.points[:3])
    ]
    recs.append(TrialRecord(3, TrialState.RUNNING, 0, 3, first.points[3].params))
    assert isinstance(progress(plan, recs), Wait)
    recs[-1] = TrialRecord(3, TrialState.FAIL, 0, 3, first.points[3].params)
    recs.append(TrialRecord(4, TrialState.WAITING, 0, 3, first.points[3].params))  # its retry
    assert isinstance(progress(plan, recs), TakeWaiting)
    recs[-1] = TrialRecord(4, TrialState.PRUNED, 0, 3, first.points[3].params)
    assert isinstance(progress(plan, recs), Enqueue)


def test_a_stage_cut_short_while_enqueueing_gets_its_missing_points() -> None:
    plan = staged_plan()
    first = progress(plan, [])
    recs = [
        TrialRecord(i, TrialState.COMPLETE, 0, i, p, 0.5 + i / 100, 0.5)
        for i, p in ((q.point, q.params) for q in first.points)
    ]
    second = progress(plan, recs)
    assert isinstance(second, Enqueue) and len(second.points) == 9
    partial = recs + [
        TrialRecord(4 + j, "COMPLETE", 1, i, p, 0.4, 0.5)
        for j, (i, p) in enumerate((q.point, q.params) for q in second.points[:3])
    ]
    rest = progress(plan, partial)
    assert isinstance(rest, Enqueue) and rest.stage == 1 and rest.points == second.points[3:]


def test_a_second_live_trial_of_a_position_is_a_copy_of_the_earliest() -> None:
    r = lambda n, state, point, repeat=0: TrialRecord(n, state, 0, point, {}, repeat=repeat)  # noqa: E731
    trials = [
        r(0, TrialState.FAIL, 0),  # a killed attempt ...
        r(1, TrialState.RUNNING, 0),  # ... and its retry: not a copy
        r(2, TrialState.WAITING, 0),  # a copy of the retry
        r(3, TrialState.WAITING, 1),
        r(4, TrialState.WAITING, 1),  # a copy, though the earlier one has not been claimed yet
        r(5, TrialState.WAITING, 1, repeat=1),  # another repeat of point 1: its own position
        TrialRecord(6, TrialState.RUNNING, None, None, {}),  # outside the plan: never a copy
    ]
    assert duplicates(trials) == {2: 1, 4: 3}


def test_the_full_grid_is_known_by_its_structure_not_its_name() -> None:
    full = full_plan()
    assert full.is_full_grid and not staged_plan().is_full_grid
    renamed = Plan("sweep", full.stages, full.space)
    assert renamed.is_full_grid
    only_lr = Plan("full-lr", (Stage("lr", {"lr": (1e-4, 3e-4)}),), full.space)
    assert not only_lr.is_full_grid
