"""Custom plans from TOML files: parsing and one clear error per mistake."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import DEFAULT_SPACE, Plan, Stage, validate
from spacehpo.hpo.core.space import Choice, Dimension, Range


def plan_from_toml(path: Path) -> Plan:
    """A custom plan:

    name = "my-plan"
    [space.lr]            # optional; defaults to DEFAULT_SPACE
    low = 1e-5
    high = 1e-2
    log = true
    [space.backbone]      # a categorical parameter: its values by name
    choices = ["resnet18", "resnet34"]
    [[stage]]
    name = "lr"
    grid = { lr = [1e-4, 3e-4] }
    fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }
    [[stage]]
    grid = { sigma = [0.3, 0.5] }
    inherit = ["lr"]
    fixed = { weight_decay = 1e-4, k = 8, box_weight = 5 }
    """
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise HpoError(f"{path}: cannot read plan file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise HpoError(f"{path}: not valid TOML ({err})") from None
    try:
        plan = _plan(doc, path.stem)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise HpoError(f"{path}: malformed plan ({err.__class__.__name__}: {err})") from None
    try:
        return validate(plan)
    except HpoError as err:
        raise HpoError(f"{path}: {err}") from None


def _dimension(d: dict[str, Any]) -> Dimension:
    if "choices" in d:
        if not d["choices"] or not isinstance(d["choices"], list):
            raise ValueError("choices must be a non-empty list")
        return Choice(tuple(d["choices"]))
    return Range(float(d["low"]), float(d["high"]), bool(d.get("log", False)))


def _plan(doc: dict[str, Any], default_name: str) -> Plan:
    space = {**DEFAULT_SPACE, **{k: _dimension(v) for k, v in doc.get("space", {}).items()}}
    stages = tuple(
        Stage(
            s.get("name", f"stage {i + 1}"),
            {k: tuple(v) if isinstance(v, list) else (v,) for k, v in s.get("grid", {}).items()},
            tuple(s.get("inherit", ())),
            dict(s.get("fixed", {})),
        )
        for i, s in enumerate(doc.get("stage", []))
    )
    name = str(doc.get("name", default_name))
    return Plan(name, stages, space, bool(doc.get("reuse_repeats", False)))
