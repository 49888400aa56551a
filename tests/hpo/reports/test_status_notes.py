"""Status report and study note on a real journal storage with hand-finished trials."""

from pathlib import Path

from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.notes import note_text
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.reports.status import status_report

from tests.hpo.engine_fixtures import fake_study


def _finish_first_two(tmp_path: Path):
    handle, study = fake_study(tmp_path)
    spec = load(handle, "s")[1]
    for value, centre in ((0.4, 0.9), (0.4, 0.95)):
        trial = claim(study, handle, spec, "w", lambda _: None).trial
        TrialWriter(trial).result({"class_acc": value, "centre_acc": centre}, {})
        study.tell(trial, value)
    claim(study, handle, spec, "w", lambda _: None)  # one running
    return study, spec


def test_status_counts_best_running_and_eta(tmp_path: Path) -> None:
    study, spec = _finish_first_two(tmp_path)
    report = status_report(study, spec)
    stage1 = report.stages[0]
    assert stage1.counts == {"WAITING": 1, "RUNNING": 1, "COMPLETE": 2, "PRUNED": 0, "FAIL": 0}
    assert report.best.number == 1  # a tie on class accuracy goes to the better centre
    assert [r.trial for r in report.running] == [2] and report.running[
        0
    ].stage == "1 lr x weight_decay"
    assert report.remaining == 20 and not report.finished and report.eta_s is not None
    assert report.to_dict()["stages"][0]["name"] == "lr x weight_decay"


def test_note_shows_plan_and_stage_bests(tmp_path: Path) -> None:
    study, spec = _finish_first_two(tmp_path)
    text = note_text(study, spec)
    assert "**Plan** `staged`: 22 grid points" in text and "| 1 lr x weight_decay |" in text
    assert "#1: class_acc 0.4000 (1 repeat)" in text
