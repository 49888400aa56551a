"""Categorical parameters next to numeric ones: plans, TOML, recording, TPE over the mixed space."""

from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plan_toml import plan_from_toml
from spacehpo.hpo.core.plans import Plan
from spacehpo.hpo.core.space import Choice, Range, dimension_from_dict, same_params, show_value
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker

from tests.conftest import run_cli
from tests.hpo.studies import create_fake_study, trials_of

MIXED = """
name = "mixed"
[space.flavour]
choices = ["a", "b"]
[[stage]]
name = "flavour x lr"
grid = { flavour = ["a", "b"], lr = [1e-4, 3e-4] }
fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }
[[stage]]
name = "sigma"
grid = { sigma = [0.3, 0.7] }
inherit = ["flavour", "lr"]
fixed = { weight_decay = 1e-4, k = 8, box_weight = 5 }
"""


def test_values_are_shown_compared_and_stored_by_kind() -> None:
    assert [show_value(v) for v in (0.0003, 8.0, "resnet34")] == ["0.0003", "8", "resnet34"]
    assert same_params({"b": "x", "lr": 3e-4}, {"b": "x", "lr": 0.0003 + 1e-16})
    assert not same_params({"b": "x"}, {"b": "y"})
    for dimension in (Choice(("a", "b")), Range(1e-5, 1e-2, log=True)):
        stored = Plan("p", (), {"x": dimension}).to_dict()["space"]["x"]
        assert dimension_from_dict(stored) == dimension


def test_a_toml_plan_with_a_categorical_grid(tmp_path: Path) -> None:
    (tmp_path / "mixed.toml").write_text(MIXED)
    plan = plan_from_toml(tmp_path / "mixed.toml")
    assert plan.space["flavour"] == Choice(("a", "b")) and plan.size == 6
    assert Plan.from_dict(plan.to_dict()) == plan
    (tmp_path / "bad.toml").write_text(
        MIXED.replace('flavour = ["a", "b"], lr', 'flavour = ["a", "c"], lr')
    )
    with pytest.raises(HpoError, match=r"flavour values \['a', 'c'\] outside its choices"):
        plan_from_toml(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text(MIXED.replace('choices = ["a", "b"]', "choices = []"))
    with pytest.raises(HpoError, match="choices must be a non-empty list"):
        plan_from_toml(tmp_path / "empty.toml")


@pytest.mark.slow
def test_grid_and_tpe_over_a_mixed_space(tmp_path: Path) -> None:
    """Grid trials record the category with a categorical distribution, stages inherit the
    winning name, status shows it, and a TPE continuation samples it."""
    storage = f"journal:{tmp_path / 'j.log'}"
    (tmp_path / "mixed.toml").write_text(MIXED)
    create_fake_study(storage, tmp_path, "--plan", str(tmp_path / "mixed.toml"), "--pruner", "none", "--set", "epochs=1")  # fmt: skip
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    grid = trials_of(storage)
    assert isinstance(grid[0].distributions["flavour"], CategoricalDistribution)
    assert isinstance(grid[0].distributions["lr"], FloatDistribution)
    assert {t.params["flavour"] for t in grid[4:]} == {"b"}  # stage 2 inherited the best name
    status = run_cli("study", "status", "s", "--storage", storage).stdout
    assert "flavour=b" in status
    extend = run_cli("study", "extend", "s", "--tpe", "4", "--storage", storage)
    assert extend.returncode == 0, extend.stderr
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    tpe = trials_of(storage)[len(grid) :]
    assert len(tpe) == 4 and all(t.params["flavour"] in ("a", "b") for t in tpe)
    report = tmp_path / "compare.html"
    compared = run_cli("compare", "s", "--storage", storage, "--out", str(report), "-f", "json")
    assert compared.returncode == 0, compared.stderr
    html = report.read_text()
    assert '"ticktext":["a","b"]' in html.replace(" ", "")  # one tick per choice, no log axis


def test_the_outlook_plan_is_shipped_and_every_point_trains() -> None:
    """Stage 1 crosses every backbone with every centre head at the report's values; each
    point (stage 2 and 3 with the earlier stages' first choices) is a valid detector config."""
    from spacehpo.hpo.core.named_plans import resolve_plan
    from spacehpo.model.config import TrainConfig

    plan = resolve_plan("outlook")
    assert [s.name for s in plan.stages] == [
        "backbone x centre_head",
        "augment x dropout",
        "freeze_epochs x lr",
    ]
    assert plan.size == 15 + 9 + 6 and isinstance(plan.space["backbone"], Choice)
    inherited: dict = {}
    for stage in plan.stages:
        points = stage.points(inherited)
        for point in points:
            TrainConfig(epochs=15).with_params(point)
        inherited = points[0]
