"""The search space: which values each parameter may take, how Optuna records it (with the same
distribution in every trial, so TPE continues from grid trials), and how a value is shown and
compared. Numbers live in a `Range`; names such as a backbone live in a `Choice`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import optuna

ParamValue = float | int | str  # what one parameter of one trial holds


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False

    def admits(self, value: Any) -> bool:
        return is_number(value) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"its range [{self.low}, {self.high}]"

    def suggest(self, trial: optuna.Trial, name: str) -> ParamValue:
        return trial.suggest_float(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class Choice:
    choices: tuple[ParamValue, ...]

    def admits(self, value: Any) -> bool:
        return any(same_value(value, c) for c in self.choices)

    def describe(self) -> str:
        return f"its choices {list(self.choices)}"

    def suggest(self, trial: optuna.Trial, name: str) -> ParamValue:
        return trial.suggest_categorical(name, list(self.choices))


Dimension = Range | Choice


def dimension_from_dict(d: dict[str, Any]) -> Dimension:
    """As `dataclasses.asdict` stored it in the study."""
    if "choices" in d:
        return Choice(tuple(d["choices"]))
    return Range(float(d["low"]), float(d["high"]), bool(d.get("log", False)))


def show_value(value: ParamValue) -> str:
    """One way to print a parameter: numbers compactly (3e-4), names as they are."""
    return f"{value:g}" if is_number(value) else str(value)


def show_params(params: dict[str, ParamValue], sep: str = " ") -> str:
    """`lr=0.0003 backbone=resnet34`: how status, compare and the logs print a point."""
    return sep.join(f"{k}={show_value(v)}" for k, v in params.items())


def same_value(a: Any, b: Any) -> bool:
    """Numbers as equal as a float round trip allows; names exactly."""
    if is_number(a) and is_number(b):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


def same_params(a: dict[str, ParamValue], b: dict[str, ParamValue]) -> bool:
    """The same configuration: the same parameter names, each with the same value."""
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
