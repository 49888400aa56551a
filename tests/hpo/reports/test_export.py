"""Export's choice of trial on a real journal storage, because `spacehpo export` must hand over the
best complete trial's model and refuse anything else with one line."""

from pathlib import Path

import pytest
from optuna.trial import TrialState
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.reports.export import choose_trial, export_trial
from spacehpo.model.metrics import CLASS_ACC

from tests.hpo.engine_fixtures import fake_study


def test_export_picks_the_best_complete_trial_and_refuses_others(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    spec = load(handle, "s")[1]
    with pytest.raises(HpoError, match="no complete trial yet"):
        choose_trial(study, None, CLASS_ACC)
    for value in (0.3, 0.5):
        trial = claim(study, handle, spec, "w", lambda _: None).trial
        TrialWriter(trial).result({"class_acc": value, "centre_acc": 0.5}, {})
        study.tell(trial, value)
    assert choose_trial(study, None, CLASS_ACC).number == 1
    running = claim(study, handle, spec, "w", lambda _: None).trial
    with pytest.raises(HpoError, match=f"trial {running.number} is RUNNING"):
        choose_trial(study, running.number, CLASS_ACC)
    with pytest.raises(HpoError, match="published no model"):
        export_trial(study, spec, 1, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert study.get_trials()[0].state == TrialState.COMPLETE
