"""The study spec checks itself; create/load on a real journal storage; names; and what the spec's
`--repeats`, `study extend --repeat-top` and `--objective` do to a real journal study run by one
in-process worker and the fake trainable (scores known in advance, per-repeat noise)."""

import json
import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import full_plan, staged_plan
from spacehpo.hpo.core.record import position_of, stage_of
from spacehpo.hpo.engine.study import (
    ATTR,
    StudySpec,
    TpeExtension,
    check_name,
    create,
    load,
)
from spacehpo.hpo.engine.trainable import DETECTOR, detector, load_trainable
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker
from spacehpo.hpo.reports.export import choose_trial
from spacehpo.model.errors import ModelError
from spacehpo.storage.backends import open_storage

from tests.conftest import run_cli
from tests.hpo.engine_fixtures import FAKE_SPEC, fake_study
from tests.hpo.studies import create_fake_study, trials_of

DETECTOR_SETTINGS = {"epochs": 2, "image_size": 64, "data": "/d"}


def test_spec_checks_detector_settings_where_it_is_built() -> None:
    StudySpec(staged_plan(), DETECTOR_SETTINGS, "fp")
    with pytest.raises(ModelError, match="image_size = 100"):
        StudySpec(staged_plan(), {**DETECTOR_SETTINGS, "image_size": 100}, "fp")
    with pytest.raises(ModelError, match="unknown training setting"):
        StudySpec(staged_plan(), {**DETECTOR_SETTINGS, "epoch": 3}, "fp")
    with pytest.raises(HpoError, match="--data is required"):
        StudySpec(staged_plan(), {"epochs": 2}, "fp")
    with pytest.raises(HpoError, match="--max-retries -1"):
        StudySpec(staged_plan(), DETECTOR_SETTINGS, "fp", max_retries=-1)
    with pytest.raises(HpoError, match="--tpe 0"):
        TpeExtension(0)


def test_spec_round_trips_with_its_extensions() -> None:
    spec = FAKE_SPEC.extend(TpeExtension(3, seed=7)).extend(TpeExtension(2))
    assert StudySpec.from_dict(spec.to_dict()) == spec and spec.tpe_trials == 5


def test_create_accepts_the_same_study_and_refuses_another(tmp_path: Path) -> None:
    handle, _ = fake_study(tmp_path)
    assert (
        create(handle, "s", replace(FAKE_SPEC, artifacts=str(tmp_path / "artifacts")))[1] is False
    )
    other = StudySpec(full_plan(), FAKE_SPEC.settings, "", "none", FAKE_SPEC.trainable)
    with pytest.raises(HpoError, match="another plan.*spacehpo study delete s --yes"):
        create(handle, "s", other)
    assert load(handle, "s")[1].store_id  # the marker written at creation
    with pytest.raises(HpoError, match="no study 'nope'"):
        load(handle, "nope")


def test_study_names_are_restricted() -> None:
    assert check_name("spark-staged_2.v1") == "spark-staged_2.v1"
    for bad in ("", "a b", "../x", "-x", "x;rm", "é"):
        with pytest.raises(HpoError, match="study name"):
            check_name(bad)


def test_a_study_stored_before_hpo_had_rooms_still_names_the_detector(tmp_path: Path) -> None:
    """Studies written before the move name `spacehpo.hpo.trainable:detector`; they load, run
    the detector, and `study create` with the same flags still finds the same study."""
    handle = open_storage(f"journal:{tmp_path / 'j.log'}", create=True)
    spec = StudySpec(staged_plan(), DETECTOR_SETTINGS, "fp", artifacts=str(tmp_path / "a"))
    study = create(handle, "old", spec)[0]
    study.set_user_attr(ATTR, {**spec.to_dict(), "trainable": "spacehpo.hpo.trainable:detector"})
    loaded = load(handle, "old")[1]
    assert loaded == spec and loaded.trainable == DETECTOR
    assert load_trainable(loaded.trainable) is detector
    assert create(handle, "old", spec)[1] is False  # the same study, not "another trainable"


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
