"""Replay tables, because a recorded table must read back exactly as written, and a damaged one
must be refused in one line naming the file, the line and what is wrong."""

from pathlib import Path

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.replay.table import read_table, write_table
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC

from tests.hpo.replay_tables import synthetic_table


def test_a_table_reads_back_as_written(tmp_path: Path) -> None:
    table = synthetic_table(repeats=2, epochs=3)
    write_table(table, tmp_path / "t.csv")
    back = read_table(tmp_path / "t.csv")
    assert (back.objective, back.epochs, back.repeats) == (CLASS_ACC, 3, 2)
    assert (back.params, back.configs) == (table.params, table.configs)
    assert back.outcomes == table.outcomes
    assert back.values[7][1][CENTRE_ACC] == table.values[7][1][CENTRE_ACC]


FIRST_ROW = 7  # 0-based: the magic line, 5 header lines, the columns; the file's line 8


def _without(config: str, repeat_epoch: str):
    return lambda lines: [ln for ln in lines if not (ln.startswith(config) and repeat_epoch in ln)]


def _first_row(old: str, new: str):
    return lambda lines: [
        *lines[:FIRST_ROW],
        lines[FIRST_ROW].replace(old, new),
        *lines[FIRST_ROW + 1 :],
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_without("7,", ",1,2,"), "t.csv: config 7 repeat 1 epoch 2 is missing"),
        (lambda lines: ["# some table", *lines[1:]], "t.csv:1: not a spacehpo replay table"),
        (_first_row(",0,1,", ",0,x,"), "t.csv:8: config, repeat and epoch must be whole"),
        (_first_row(",0,1,", ",0,9,"), "t.csv:8: config 0 repeat 0 epoch 9 is outside"),
        (lambda lines: [*lines, lines[-1]], "appears twice"),
        (lambda lines: [ln for ln in lines if not ln.startswith("# epochs")], "'epochs' must"),
    ],
)
def test_a_bad_table_is_one_line_naming_where(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "t.csv"
    write_table(synthetic_table(repeats=2, epochs=3), path)
    with pytest.raises(HpoError, match=message) as err:
        path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
        read_table(path)
    assert "\n" not in str(err.value)
