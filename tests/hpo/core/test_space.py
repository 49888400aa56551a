"""Values and dimensions by kind, because a categorical parameter next to numeric ones must be
shown, compared, stored, recorded and searched by TPE without being taken for a number."""

from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from spacehpo.hpo.core.plans import Plan
from spacehpo.hpo.core.space import Choice, Range, dimension_from_dict, same_params, show_value
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker

from tests.conftest import run_cli
from tests.hpo.studies import MIXED, create_fake_study, trials_of


def test_values_are_shown_compared_and_stored_by_kind() -> None:
    assert [show_value(v) for v in (0.0003, 8.0, "resnet34")] == ["0.0003", "8", "resnet34"]
    assert same_params({"b": "x", "lr": 3e-4}, {"b": "x", "lr": 0.0003 + 1e-16})
    assert not same_params({"b": "x"}, {"b": "y"})
    for dimension in (Choice(("a", "b")), Range(1e-5, 1e-2, log=True)):
        stored = Plan("p", (), {"x": dimension}).to_dict()["space"]["x"]
        assert dimension_from_dict(stored) == dimension


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
