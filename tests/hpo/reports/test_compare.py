"""compare, because its headline (cost, regret, rank in the full grid) must follow the one ranking
rule and refuse studies that are not the same experiment: by the CLI on real studies, and on
in-memory studies of hand-made trials."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import Plan, full_plan, staged_plan
from spacehpo.hpo.core.record import Position
from spacehpo.hpo.core.space import Range
from spacehpo.hpo.engine.study import StudySpec, TpeExtension
from spacehpo.hpo.reports.compare import Comparison, check_comparable, compare, cost_of, rank_in
from spacehpo.model.metrics import CLASS_ACC

from tests.conftest import assert_one_line_error, run_cli, start_workers, wait_all
from tests.hpo.fakes import score
from tests.hpo.studies import FAKE, create_fake_study, made_study, made_trial


@pytest.mark.slow
def test_compare_staged_against_full_grid(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    for name, plan in (("staged", "staged"), ("full", "full")):
        create_fake_study(
            storage,
            tmp_path,
            "--plan",
            plan,
            "--pruner",
            "none",
            "--set",
            "epochs=2",
            "--data",
            str(tiny_dataset),
            name=name,
        )
        wait_all(start_workers(2, name, storage, tmp_path))
    out = tmp_path / "report.html"
    r = run_cli("compare", "staged", "full", "--storage", storage, "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "plotly" in html.lower() and "Parallel coordinates" in html and "Stage winners" in html
    assert "<script src=" not in html  # self-contained: plotly is inlined
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 22 + 108 and {r["study"] for r in rows} == {"staged", "full"}
    # the fake's optimum is on the grid and the staged path reaches it: regret 0, rank 1, 44/216 of the cost
    best = max(
        score(dict(lr=lr, weight_decay=wd, sigma=s, k=k, box_weight=b))[0]
        for lr in (1e-4, 3e-4)
        for wd in (1e-4, 1e-5)
        for s in (0.3, 0.5, 0.7)
        for k in (6, 8, 10)
        for b in (3, 5, 8)
    )
    staged_line = next(line for line in r.stdout.splitlines() if line.startswith("staged "))
    assert (
        f"{best:.4f}" in staged_line and "0.204" in staged_line and staged_line.split()[-1] == "1"
    )
    assert " 0.0 " in staged_line or " 0.0000 " in staged_line  # regret


def test_compare_refuses_studies_on_other_data(tiny_dataset: Path, tmp_path: Path) -> None:
    from spacehpo.data.synth import SynthConfig, generate

    other = tmp_path / "other"
    generate(other, SynthConfig(n_train=11, n_val=11, size=64, seed=5), progress=False)
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--data", str(tiny_dataset), name="a")
    create_fake_study(storage, tmp_path, "--data", str(other), name="b")
    assert_one_line_error(
        run_cli("compare", "a", "b", "--storage", storage, "--out", str(tmp_path / "r.html")),
        "different data",
    )


def _spec(plan: Plan, epochs: int = 2, fingerprint: str = "fp", **kw: Any) -> StudySpec:
    return StudySpec(plan, {"epochs": epochs}, fingerprint, trainable=FAKE, **kw)


def _at(point: int) -> Position:
    return Position("staged", 0, "lr x weight_decay", point)


def test_cost_counts_every_epoch_and_picks_the_best_by_the_ranking_rule() -> None:
    C, P, F = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL
    study = made_study(
        "s",
        [
            made_trial(C, 0.5, 0.7, epochs_run=2, minutes=30, position=_at(0)),
            made_trial(
                P, curves={1: (0.3, 0.6)}, minutes=15, lr=3e-4, position=_at(1)
            ),  # epochs from its curve
            made_trial(
                F, epochs_run=1, minutes=15, k=6.0, position=_at(2)
            ),  # a failed attempt still cost its epoch
            made_trial(C, 0.7, 0.8, epochs_run=2, minutes=30, k=10.0, position=_at(3)),
            made_trial(
                C, 0.7, 0.9, epochs_run=2, minutes=30, sigma=0.7, position=_at(4)
            ),  # same class, better centre
        ],
    )
    study.add_trial(create_trial(state=TrialState.RUNNING))  # not finished: no cost yet
    spec = _spec(staged_plan(), tpe=(TpeExtension(2), TpeExtension(1)))
    cost = cost_of(study, spec)
    assert (cost.name, cost.plan, cost.trials, cost.epochs) == ("s", "staged+tpe3", 5, 8)
    assert cost.best is not None and cost.best.number == 4
    assert cost.curve == [(2, 0.5), (3, 0.5), (4, 0.5), (6, 0.7), (8, 0.7)]
    assert cost.device_hours == pytest.approx(2.0)


def test_rank_in_breaks_class_ties_by_centre_accuracy_at_the_same_epoch() -> None:
    C, P = TrialState.COMPLETE, TrialState.PRUNED
    reference = made_study(
        "full",
        [
            made_trial(C, 0.8, 0.6, k=6.0),
            made_trial(C, 0.8, 0.9, k=8.0),
            # best class 0.8 at epoch 1 with centre 0.7; the later 0.99 centre does not count
            made_trial(P, curves={1: (0.8, 0.7), 2: (0.5, 0.99)}, k=10.0),
            made_trial(TrialState.FAIL, curves={1: (0.95, 0.95)}, sigma=0.3),  # never ranked
            made_trial(C, 0.6, 0.99, sigma=0.7),
        ],
    ).get_trials()
    ranks = [rank_in(made_trial(C, 0.1, k=k), reference, CLASS_ACC) for k in (6.0, 8.0, 10.0)]
    assert ranks == [3, 1, 2]
    assert rank_in(made_trial(C, 0.1, sigma=0.7), reference, CLASS_ACC) == 4
    assert rank_in(made_trial(C, 0.1, sigma=0.3), reference, CLASS_ACC) is None


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (_spec(full_plan(), fingerprint="other"), "'a' and 'b' ran on different data"),
        (
            _spec(Plan("p", staged_plan().stages, {"lr": Range(1e-5, 1e-2, log=True)})),
            "'a' and 'b' do not share a search space",
        ),
        (_spec(full_plan(), epochs=3), "'a' and 'b' train for different epochs"),
    ],
)
def test_check_comparable_refuses_other_experiments(other: StudySpec, message: str) -> None:
    with pytest.raises(HpoError, match=message):
        check_comparable([("a", _spec(staged_plan())), ("b", other)])


def test_check_comparable_accepts_other_plans_of_the_same_experiment() -> None:
    check_comparable(
        [("a", _spec(staged_plan())), ("b", _spec(full_plan(), tpe=(TpeExtension(3),)))]
    )


def _planned(
    plan: str, stage: int, name: str, point: int, value: float, **params: float
) -> FrozenTrial:
    position = Position(plan, stage, name, point)
    return made_trial(TrialState.COMPLETE, value, 0.8, position=position, epochs_run=2, **params)


def test_compare_writes_html_and_csv_and_returns_the_headline(tmp_path: Path) -> None:
    staged = made_study(
        "staged",
        [
            _planned("staged", 0, "lr x weight_decay", 0, 0.5),
            _planned("staged", 0, "lr x weight_decay", 1, 0.6, lr=3e-4),
            _planned("staged", 1, "sigma x k", 0, 0.65, lr=3e-4, sigma=0.7),
        ],
    )
    full = made_study(
        "full",
        [
            _planned("full", 0, "full grid", i, v, **p)
            for i, (v, p) in enumerate(
                [
                    (0.5, {}),
                    (0.6, {"lr": 3e-4}),
                    (0.7, {"k": 6.0}),
                    (0.65, {"lr": 3e-4, "sigma": 0.7}),
                ]
            )
        ],
    )
    result = compare(
        [(staged, _spec(staged_plan())), (full, _spec(full_plan()))], tmp_path / "r.html"
    )
    assert isinstance(result, Comparison) and result.csv == tmp_path / "r.csv"
    assert [r["study"] for r in result.rows] == ["staged", "full"]
    row = result.rows[0]
    assert (row["best class_acc"], row["best trial"], row["trials"], row["epochs"]) == (
        0.65,
        2,
        3,
        6,
    )
    assert (row["cost vs full"], row["regret vs full"], row["rank in full grid"]) == (0.75, 0.05, 2)
    assert result.rows[1]["rank in full grid"] == 1 and result.rows[1]["regret vs full"] == 0.0
    html = result.html.read_text()
    assert "Stage winners" in html and "2 sigma x k" in html and "1 full grid" in html
    assert "Parallel coordinates: staged" in html and "<script src=" not in html
    trials = list(csv.DictReader(result.csv.open()))
    assert len(trials) == 7 and {t["study"] for t in trials} == {"staged", "full"}


def test_compare_without_a_full_grid_leaves_the_comparisons_empty(tmp_path: Path) -> None:
    staged = made_study("staged", [_planned("staged", 0, "lr x weight_decay", 0, 0.5)])
    row = compare([(staged, _spec(staged_plan()))], tmp_path / "r.html").rows[0]
    assert row["cost vs full"] is None and row["regret vs full"] is None
    assert row["rank in full grid"] is None and row["best class_acc"] == 0.5


def test_best_so_far_follows_the_best_configurations_mean_not_a_lucky_repeat() -> None:
    C = TrialState.COMPLETE
    lucky = dict(lr=3e-4)
    study = made_study(
        "s",
        [
            made_trial(C, 0.6, 0.5, epochs_run=1, position=_at(0)),
            made_trial(C, 0.6, 0.5, epochs_run=1, position=replace(_at(0), repeat=1)),
            made_trial(C, 0.9, 0.5, epochs_run=1, position=_at(1), **lucky),
            made_trial(C, 0.1, 0.5, epochs_run=1, position=replace(_at(1), repeat=1), **lucky),
        ],
    )
    cost = cost_of(study, _spec(staged_plan(), repeats=2))
    # a raw maximum would read 0.9 from the third trial on; point 1's mean is 0.9, then 0.5
    assert cost.curve == [(1, 0.6), (2, 0.6), (3, 0.9), (4, 0.6)]
