"""The status report on a real journal storage, because `study status` is how a person sees what
runs, what is best and when the study will end."""

from pathlib import Path

from spacehpo.hpo.reports.status import status_report

from tests.hpo.engine_fixtures import finish_first_two


def test_status_counts_best_running_and_eta(tmp_path: Path) -> None:
    study, spec = finish_first_two(tmp_path)
    report = status_report(study, spec)
    stage1 = report.stages[0]
    assert stage1.counts == {"WAITING": 1, "RUNNING": 1, "COMPLETE": 2, "PRUNED": 0, "FAIL": 0}
    assert report.best.number == 1  # a tie on class accuracy goes to the better centre
    assert [r.trial for r in report.running] == [2] and report.running[
        0
    ].stage == "1 lr x weight_decay"
    assert report.remaining == 20 and not report.finished and report.eta_s is not None
    assert report.to_dict()["stages"][0]["name"] == "lr x weight_decay"
