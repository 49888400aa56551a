"""The study spec checks itself; create/load on a real journal storage; names."""

from dataclasses import replace
from pathlib import Path

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import full_plan, staged_plan
from spacehpo.hpo.engine.study import (
    ATTR,
    StudySpec,
    TpeExtension,
    check_name,
    create,
    load,
)
from spacehpo.hpo.engine.trainable import DETECTOR, detector, load_trainable
from spacehpo.model.errors import ModelError
from spacehpo.storage.backends import open_storage

from tests.hpo.engine_fixtures import FAKE_SPEC, fake_study

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
