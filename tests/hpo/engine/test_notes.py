"""The study note on a real journal storage, because the dashboard shows it as the study's summary:
the plan and each stage's best."""

from pathlib import Path

from spacehpo.hpo.engine.notes import note_text

from tests.hpo.engine_fixtures import finish_first_two


def test_note_shows_plan_and_stage_bests(tmp_path: Path) -> None:
    study, spec = finish_first_two(tmp_path)
    text = note_text(study, spec)
    assert "**Plan** `staged`: 22 grid points" in text and "| 1 lr x weight_decay |" in text
    assert "#1: class_acc 0.4000 (1 repeat)" in text
