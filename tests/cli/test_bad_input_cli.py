"""Bad input tried as a new user would (issue 24 item 5): one line naming what is wrong, exit
code 2, and nothing written, least of all a storage by a command that only reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli

READ_ONLY = [
    ("study", "status", "nosuch"),
    ("study", "list"),
    ("study", "extend", "nosuch", "--tpe", "3"),
    ("study", "delete", "nosuch", "--yes"),
    ("export", "nosuch", "--out", "best"),
    ("compare", "a", "b"),
    ("replay", "nosuch"),
    ("tensorboard", "nosuch", "--print"),
    ("dashboard",),
    ("worker", "nosuch", "--device", "cpu"),
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
def test_a_command_that_only_reads_makes_no_journal(command: tuple, tmp_path: Path) -> None:
    r = run_cli(*command, cwd=tmp_path)
    assert_one_line_error(r, "no journal file spacehpo-runs/journal.log", "no study")
    assert list(tmp_path.iterdir()) == []


def test_train_on_a_missing_dataset_is_one_line(tmp_path: Path) -> None:
    r = run_cli("train", "--data", "/nonexistent", "--out", "r", cwd=tmp_path)
    assert_one_line_error(r, "/nonexistent")
    assert list(tmp_path.iterdir()) == []


def test_replay_of_a_missing_table_says_neither_exists(tmp_path: Path) -> None:
    r = run_cli("replay", "/nonexistent.csv", cwd=tmp_path)
    assert_one_line_error(r, "/nonexistent.csv", "neither a table file", "nor a study")
