"""`--format table|json|yaml|value`: the renderer alone, then the real commands on a real study."""

import json
import math

import pytest
import yaml
from optuna.cli import _dump_value
from spacehpo.cli.main import build_parser
from spacehpo.cli.output import FORMATS, JSON, TABLE, VALUE, YAML, Output, render, show

ROWS = [
    {"study": "a b", "best": 0.123456789, "trial": 3, "none": None},
    {"study": "c", "best": float("nan"), "trial": 0, "none": None},
]


def _output() -> Output:
    return Output(ROWS, [list(r.values()) for r in ROWS], "the table people read")


def test_json_is_strict_with_unrounded_numbers_as_numbers() -> None:
    text = render(_output(), JSON)
    assert "NaN" not in text  # strict JSON: a parser in any language reads it
    data = json.loads(text)
    assert data[0]["best"] == 0.123456789 and data[0]["trial"] == 3 and data[0]["none"] is None
    assert data[1]["best"] is None  # not finite: null in JSON (and in YAML)
    assert [list(r) for r in data] == [list(r) for r in ROWS]  # the keys in the table's order


def test_yaml_is_the_json_data_in_the_same_order() -> None:
    loaded = yaml.safe_load(render(_output(), YAML))
    assert loaded == json.loads(render(_output(), JSON))
    assert list(loaded[0]) == list(ROWS[0])


def test_value_is_optunas_value_format_and_mappings_read_like_the_tables() -> None:
    assert render(_output(), VALUE) == _dump_value(ROWS, list(ROWS[0]))
    nested = Output({}, [["1", {"lr": 0.0003, "k": 8.0}, None]], "")
    assert render(nested, VALUE) == "1 lr=0.0003 k=8.0 "


def test_table_is_the_commands_own_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert render(_output(), TABLE) == "the table people read"
    with pytest.raises(ValueError, match="unknown output format 'csv'"):
        render(_output(), "csv")
    show(Output([], [], "no studies"), VALUE)
    show(Output([], [], "no studies"), JSON)
    assert capsys.readouterr().out == "[]\n"  # no rows in value format: not even an empty line


@pytest.mark.parametrize(
    ("argv", "fmt"),
    [
        (["study", "status", "s"], TABLE),
        (["study", "status", "s", "-f", "yaml"], YAML),
        (["study", "status", "s", "--format", "json"], JSON),
        (["study", "list", "--format", "value"], VALUE),
        (["study", "list", "-f", "json"], JSON),
        (["compare", "a", "b", "-f", "json"], JSON),
        (["compare", "a"], TABLE),
    ],
)
def test_every_command_takes_the_same_flag(argv: list[str], fmt: str) -> None:
    assert build_parser().parse_args(argv).format == fmt


def test_unknown_formats_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` was an alias before 0.1.0 and is gone: `-f json` is the one spelling."""
    for argv, message in (
        (["study", "list", "-f", "csv"], f"choose from {', '.join(map(repr, FORMATS))}"),
        (["compare", "a", "--json"], "unrecognized arguments: --json"),
        (["study", "status", "s", "--json"], "unrecognized arguments: --json"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_nan_and_infinity_become_null_at_any_depth() -> None:
    data = json.loads(render(Output({"a": [{"b": -math.inf}], "c": (1, 2)}, [], ""), JSON))
    assert data == {"a": [{"b": None}], "c": [1, 2]}
