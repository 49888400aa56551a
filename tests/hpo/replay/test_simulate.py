"""Simulated plans on recorded tables, because a replay is only worth its verdict if it takes the
path the real engine takes on the same values: the staged plan's choices, the pruners' stops, the
sampling plans' draws."""

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import DEFAULT_SPACE, staged_plan
from spacehpo.hpo.core.ranking import best_point
from spacehpo.hpo.core.record import epochs_run_of, records, stage_of
from spacehpo.hpo.core.sampler import StagedGridSampler
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker
from spacehpo.hpo.replay.simulate import parse_plan, simulate
from spacehpo.hpo.replay.table import table_from_study
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC
from spacehpo.storage.backends import open_storage

from tests.hpo.replay_tables import create_here, synthetic_table

# A full grid small enough to run for real in a second: every parameter is swept (some over one
# value), so its table is a replay table.
SMALL_GRID = """name = "grid8"
[[stage]]
grid = { lr = [3e-4, 1e-4], weight_decay = [1e-4, 1e-5], sigma = [0.5], k = [6, 10], box_weight = [5] }
"""


def test_staged_replay_takes_the_staged_samplers_path_on_the_same_values() -> None:
    """One repeat, so the draw is fixed; the sampler is the engine's own `progress()` in Optuna."""
    table = synthetic_table(repeats=1, noise=0.02)
    run = simulate(parse_plan("staged"), table, seed=3)
    study = optuna.create_study(
        direction="maximize", sampler=StagedGridSampler(staged_plan(), CLASS_ACC)
    )

    def objective(trial: optuna.Trial) -> float:
        params = {
            n: trial.suggest_float(n, d.low, d.high, log=d.log) for n, d in DEFAULT_SPACE.items()
        }
        value, tie_break = table.outcomes[table.config_of(params)][0]
        TrialWriter(trial).result({CLASS_ACC: value, CENTRE_ACC: tie_break}, {})
        return value

    study.optimize(objective)
    real = [(stage_of(t), table.config_of(t.params)) for t in study.trials]
    assert [(r.stage, t.config) for r, t in zip(run.records, run.trials, strict=True)] == real
    assert run.pick == table.config_of(best_point(records(study, CLASS_ACC)).params)
    assert [s for s, _ in real] == [0] * 4 + [1] * 9 + [2] * 9


# The same small space searched in two stages, as the staged plan searches the full grid.
SMALL_STAGED = """name = "staged8"
[[stage]]
name = "lr x weight_decay"
grid = { lr = [3e-4, 1e-4], weight_decay = [1e-4, 1e-5] }
fixed = { sigma = 0.5, k = 10, box_weight = 5 }
[[stage]]
name = "k"
grid = { k = [6, 10] }
inherit = ["lr", "weight_decay"]
fixed = { sigma = 0.5, box_weight = 5 }
"""


@pytest.mark.slow  # real workers run both studies
def test_replay_of_a_staged_plan_equals_the_real_staged_study(tmp_path: Path) -> None:
    """A full grid and a staged study, each run by one real worker on the same noisy values
    (the fake's noise is fixed per seed and params); the staged plan replayed on the grid's
    table picks the same configurations, stage by stage, in the same order."""
    grid, staged = tmp_path / "grid8.toml", tmp_path / "staged8.toml"
    grid.write_text(SMALL_GRID)
    staged.write_text(SMALL_STAGED)
    url = f"journal:{tmp_path / 'journal.log'}"
    for name, plan in (("grid", grid), ("staged", staged)):
        create_here(url, tmp_path, name, "none", "--plan", str(plan), "--set", "noise=0.05")
        run_worker(WorkerConfig(name, url, poll_s=0.05))
    with open_storage(url) as handle:
        table = table_from_study(*load(handle, "grid"))
        trials = sorted(load(handle, "staged")[0].get_trials(), key=lambda t: t.number)
    run = simulate(parse_plan(str(staged)), table, seed=0)
    real = [(stage_of(t), table.config_of(t.params)) for t in trials]
    assert [(r.stage, t.config) for r, t in zip(run.records, run.trials, strict=True)] == real
    assert len({c for s, c in real if s == 1}) == 2  # stage 2 ran on the inherited winner


def test_each_simulated_trial_draws_one_recorded_repeat() -> None:
    table = synthetic_table(repeats=3, noise=0.02)
    runs = [simulate(parse_plan("full"), table, seed) for seed in range(8)]
    for run in runs:
        for trial, record in zip(run.trials, run.records, strict=True):
            assert record.value == table.outcomes[trial.config][trial.repeat][0]
    assert len({t.repeat for t in runs[0].trials}) == 3
    assert len({run.pick for run in runs}) > 1  # the noise reaches the full grid's pick


@pytest.mark.slow  # real workers record and run the grid
def test_the_median_pruner_stops_what_a_real_worker_stops(tmp_path: Path) -> None:
    """A full grid recorded without pruning, the same grid run by a real worker with the median
    pruner, then replayed with +median on the record: the same trials stop at the same epochs."""
    plan = tmp_path / "grid8.toml"
    plan.write_text(SMALL_GRID)
    url = f"journal:{tmp_path / 'journal.log'}"
    common = ("--plan", str(plan), "--set", "epochs=4", "--set", "noise=0.05")
    for name, pruner in (("grid", "none"), ("pruned", "median")):
        create_here(url, tmp_path, name, pruner, *common)
        run_worker(WorkerConfig(name, url, poll_s=0.05))
    with open_storage(url) as handle:
        table = table_from_study(*load(handle, "grid"))
        trials = sorted(load(handle, "pruned")[0].get_trials(), key=lambda t: t.number)
    real = [
        (table.config_of(t.params), t.state == TrialState.PRUNED, epochs_run_of(t)) for t in trials
    ]
    run = simulate(parse_plan(f"{plan}+median"), table, seed=0)
    assert [(t.config, t.pruned, t.epochs) for t in run.trials] == real
    assert any(pruned for _, pruned, _ in real) and not all(pruned for _, pruned, _ in real)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("stagged", "unknown plan 'stagged'"),
        ("full+bogus", "unknown plan 'full+bogus'"),
        ("random:0", "needs a positive number"),
        ("tpe:x", "needs a positive number"),
        ("random:5+tpe:3", "unknown plan"),
        ("full+median+hyperband", "unknown plan"),
    ],
)
def test_an_unknown_plan_is_one_line(name: str, message: str) -> None:
    with pytest.raises(HpoError, match=message.replace("+", r"\+")):
        parse_plan(name)


def test_sampling_plans_choose_among_the_recorded_configurations() -> None:
    table = synthetic_table(repeats=2)
    random_run = simulate(parse_plan("random:22"), table, seed=1)
    assert len({t.config for t in random_run.trials}) == 22
    tpe = [simulate(parse_plan("tpe:12"), table, seed=1) for _ in range(2)]
    assert [t.config for t in tpe[0].trials] == [t.config for t in tpe[1].trials]  # seeded
    continued = simulate(parse_plan("staged+tpe:4"), table, seed=1)
    assert len(continued.trials) == 26 and {r.stage for r in continued.records[22:]} == {3}
    with pytest.raises(HpoError, match="has 108 configurations"):
        simulate(parse_plan("random:200"), table, seed=0)
