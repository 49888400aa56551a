"""`--repeats`, `study extend --repeat-top` and `--objective` on a real journal study with one
in-process worker and the fake trainable (scores known in advance, per-repeat noise)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.record import position_of, stage_of
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker
from spacehpo.hpo.reports.export import choose_trial
from spacehpo.storage.backends import open_storage

from tests.conftest import run_cli
from tests.hpo.studies import create_fake_study, trials_of


def _run(tmp_path: Path, *flags: str) -> str:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--pruner", "none", "--set", "epochs=1", *flags)
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    return storage


def _by_point(trials: list[FrozenTrial]) -> dict[tuple[int, int], list[FrozenTrial]]:
    points = defaultdict(list)
    for t in trials:
        points[(stage_of(t), position_of(t).point)].append(t)
    return points


def _best_mean_params(trials: list[FrozenTrial]) -> dict:
    """Computed here, independently of hpo/core/ranking.py: the highest mean over repeats."""
    points = _by_point(trials)
    best = max(points.values(), key=lambda ts: statistics.fmean(t.value for t in ts))
    return best[0].params


@pytest.mark.slow
def test_repeats_keep_per_repeat_values_and_the_mean_drives_inheritance(tmp_path: Path) -> None:
    storage = _run(tmp_path, "--set", "noise=0.08", "--repeats", "2")
    trials = trials_of(storage)
    assert len(trials) == 44 and all(t.state == TrialState.COMPLETE for t in trials)
    points = _by_point(trials)
    assert all(sorted(t.user_attrs["repeat"] for t in ts) == [0, 1] for ts in points.values())
    assert any(ts[0].value != ts[1].value for ts in points.values())  # each repeat its own seed
    stage1 = [t for t in trials if stage_of(t) == 0]
    stage2 = [t for t in trials if stage_of(t) == 1]
    inherited = _best_mean_params(stage1)
    assert {(t.params["lr"], t.params["weight_decay"]) for t in stage2} == {
        (inherited["lr"], inherited["weight_decay"])
    }
    status = run_cli("study", "status", "s", "--storage", storage, "--format", "json")
    best = json.loads(status.stdout)["best"]
    assert best["repeats"] == 2 and best["spread"] > 0
    assert best["mean"] == statistics.fmean(t.value for t in points[_key(trials, best["number"])])


def _key(trials: list[FrozenTrial], number: int) -> tuple[int, int]:
    t = next(t for t in trials if t.number == number)
    return (stage_of(t), position_of(t).point)


@pytest.mark.slow
def test_repeat_top_adds_repeats_to_the_best_points_only(tmp_path: Path) -> None:
    storage = _run(tmp_path, "--set", "noise=0.08", "--repeats", "2")
    r = run_cli("study", "extend", "s", "--repeat-top", "2", "--repeats", "3", "--storage", storage)
    assert r.returncode == 0, r.stderr
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    trials = trials_of(storage)
    assert len(trials) == 46
    counts = sorted(len(ts) for ts in _by_point(trials).values())
    assert counts == [2] * 20 + [3] * 2
    bad = run_cli("study", "extend", "s", "--repeat-top", "2", "--storage", storage)
    assert bad.returncode == 2 and "--repeats" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_the_objective_changes_inheritance_and_export(tmp_path: Path) -> None:
    """The fake's class accuracy peaks at k 6 and its centre accuracy at k 8."""
    chosen = {}
    for objective in ("class_acc", "centre_acc"):
        storage = _run(tmp_path / objective, "--objective", objective)
        trials = trials_of(storage)
        stage3 = [t for t in trials if stage_of(t) == 2]
        handle = open_storage(storage)
        study, spec = load(handle, "s")
        assert spec.objective == objective and study.metric_names == [objective]
        parent = {position_of(t).inherited_from for t in stage3}  # stage 2's winner
        assert len(parent) == 1
        winner = parent.pop()
        chosen[objective] = (
            next(t for t in trials if t.number == winner).params["k"],
            choose_trial(study, None, spec.objective).params["k"],
            optuna.load_study(study_name="s", storage=handle.storage).best_value,
        )
        handle.close()
    assert chosen["class_acc"][:2] == (6.0, 6.0) and chosen["centre_acc"][:2] == (8.0, 8.0)
    assert chosen["centre_acc"][2] == 0.9  # the trial's value is its objective


def test_an_unknown_objective_is_one_line(tmp_path: Path) -> None:
    r = run_cli("study", "create", "s", "--trainable", "tests.hpo.fakes:scored",
                "--storage", f"journal:{tmp_path / 'j.log'}", "--objective", "loss")  # fmt: skip
    assert r.returncode == 2 and "objective" in r.stderr and "Traceback" not in r.stderr
