"""The TPE continuation's rules, because workers, replay and the reports must agree on where its
trials sit and what the seeded sampler proposes, and a continuation must learn from the grid."""

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from spacehpo.hpo.core.plans import DEFAULT_SPACE, Plan, full_plan, staged_plan
from spacehpo.hpo.core.tpe import STARTUP_TRIALS, sampler, stage
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker

from tests.conftest import run_cli
from tests.hpo.studies import create_fake_study, trials_of

DIST = {"x": FloatDistribution(0.0, 1.0), "y": FloatDistribution(1e-5, 1e-2, log=True)}


def _history(n: int, peak: float) -> list[tuple[float, float, float]]:
    """`n` finished trials whose value peaks at x = `peak`."""
    return [(i / 10, 10 ** (-5 + i / 4), 1 - abs(i / 10 - peak)) for i in range(n)]


def _proposals(seed: int, history: list[tuple[float, float, float]]) -> list[dict]:
    """Three points the continuation's sampler asks for after `history`, in a fresh study."""
    study = optuna.create_study(direction="maximize", sampler=sampler(seed))
    for x, y, value in history:
        study.add_trial(create_trial(params={"x": x, "y": y}, distributions=DIST, value=value))
    return [study.ask(DIST).params for _ in range(3)]


def test_the_continuation_is_the_stage_after_the_plans_last() -> None:
    two = Plan("two", staged_plan().stages[:2], DEFAULT_SPACE)
    assert [stage(p) for p in (staged_plan(), full_plan(), two)] == [3, 1, 2]


def test_the_sampler_proposes_the_same_points_for_the_same_seed_and_history() -> None:
    assert isinstance(sampler(0), optuna.samplers.TPESampler)
    history = _history(8, peak=0.0)
    assert _proposals(1, history) == _proposals(1, history)
    assert _proposals(1, history) != _proposals(2, history)


def test_the_sampler_models_the_history_from_the_startup_trials_on() -> None:
    """Before STARTUP_TRIALS finished trials it samples at random (the values do not matter);
    from then on two histories with other values lead it to other points."""
    before, at = STARTUP_TRIALS - 1, STARTUP_TRIALS
    assert _proposals(1, _history(before, peak=0.0)) == _proposals(1, _history(before, peak=0.9))
    assert _proposals(1, _history(at, peak=0.0)) != _proposals(1, _history(at, peak=0.9))


def _grid_then_tpe(tmp_path: Path, invert: bool) -> list[optuna.trial.FrozenTrial]:
    storage = f"journal:{tmp_path / 'j.log'}"
    settings = ["--set", "epochs=1"] + (["--set", "invert=true"] if invert else [])
    tmp_path.mkdir(parents=True, exist_ok=True)
    create_fake_study(storage, tmp_path, "--pruner", "none", *settings)
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    assert (
        run_cli(
            "study", "extend", "s", "--tpe", "3", "--seed", "1", "--storage", storage
        ).returncode
        == 0
    )
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    return trials_of(storage)


@pytest.mark.slow  # two real studies with worker processes
def test_tpe_continuation_learns_from_the_grid(tmp_path: Path) -> None:
    normal = _grid_then_tpe(tmp_path / "a", invert=False)
    inverted = _grid_then_tpe(tmp_path / "b", invert=True)
    for trials in (normal, inverted):
        tpe = [t for t in trials if t.user_attrs["stage_name"] == "tpe"]
        assert (
            len(trials) == 25 and len(tpe) == 3 and all(t.state == TrialState.COMPLETE for t in tpe)
        )
        assert (
            tpe[0].distributions == trials[0].distributions
        )  # same space: TPE sees the grid trials
    first = lambda trials: next(t for t in trials if t.user_attrs["stage_name"] == "tpe").params  # noqa: E731
    assert first(normal) != first(inverted)
