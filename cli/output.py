"""What a command prints, in the format its reader asked for: a table for people, JSON, YAML or
bare values for scripts. The choices are the `optuna` CLI's `-f` choices, so a script written
against one reads the other the same way.

A command builds its result once as an `Output`; `render` is the only place a format is chosen.
JSON and YAML carry the unrounded numbers the table rounds for display, as numbers.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from typing import Any

import yaml

TABLE, JSON, YAML, VALUE = "table", "json", "yaml", "value"
FORMATS = (TABLE, JSON, YAML, VALUE)


@dataclass(frozen=True)
class Output:
    """One result in every format. `data` is what JSON and YAML print (plain dicts, lists,
    numbers, strings); `rows` are the lines `value` prints; `table` is the text people read."""

    data: Any
    rows: list[list[Any]]
    table: str


def format_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default=TABLE,
        help=f"output format (default {TABLE}; {JSON}, {YAML} and {VALUE} are for scripts and "
        "print only the data)",
    )


def plain(data: Any) -> Any:
    """Strict JSON has no NaN or infinity: a number that is not finite becomes null (None), in
    YAML too, so both formats carry the same data."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    return str(data)


def value_cell(value: Any) -> str:
    """As the `optuna` CLI's value format: None is an empty field, everything else its str();
    a mapping becomes `key=value` pairs, as the tables show parameters."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def render(out: Output, fmt: str) -> str:
    if fmt == JSON:
        return json.dumps(plain(out.data), indent=2, allow_nan=False)
    if fmt == YAML:
        return yaml.safe_dump(plain(out.data), sort_keys=False).rstrip("\n")
    if fmt == VALUE:
        return "\n".join(" ".join(value_cell(v) for v in row) for row in out.rows)
    if fmt == TABLE:
        return out.table
    raise ValueError(f"unknown output format {fmt!r}; choose from {', '.join(FORMATS)}")


def show(out: Output, fmt: str) -> None:
    """No rows in `value` format print nothing at all, not an empty line."""
    text = render(out, fmt)
    if text:
        print(text)
