"""`--plan NAME`: the plans spacehpo ships (staged, full, outlook) or a plan file. Apart from
plans.py because plan files are read with plans.py's own types."""

from __future__ import annotations

from pathlib import Path

from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plan_toml import plan_from_toml
from spacehpo.hpo.core.plans import Plan, full_plan, staged_plan

OUTLOOK_PLAN = Path(__file__).with_name("outlook.toml")  # the report's outlook, in the plan format


def resolve_plan(name: str, reuse_repeats: bool = False) -> Plan:
    """`--plan`: staged, full, outlook or a TOML file."""
    if name == "staged":
        return staged_plan(reuse_repeats)
    if name == "full":
        return full_plan()
    if name == "outlook":
        name = str(OUTLOOK_PLAN)
    if name.endswith(".toml"):
        plan = plan_from_toml(Path(name))
        return Plan(plan.name, plan.stages, plan.space, plan.reuse_repeats or reuse_repeats)
    raise HpoError(f"unknown plan {name!r}: use staged, full, outlook or a .toml plan file")
