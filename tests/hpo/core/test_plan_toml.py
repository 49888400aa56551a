"""Plan files, because a user's TOML is the one place a plan can be wrong, and each mistake must
be one line naming it."""

from pathlib import Path

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.named_plans import resolve_plan
from spacehpo.hpo.core.plan_toml import plan_from_toml
from spacehpo.hpo.core.plans import Plan
from spacehpo.hpo.core.space import Choice

from tests.hpo.studies import MIXED


def test_a_toml_plan_with_a_categorical_grid(tmp_path: Path) -> None:
    (tmp_path / "mixed.toml").write_text(MIXED)
    plan = plan_from_toml(tmp_path / "mixed.toml")
    assert plan.space["flavour"] == Choice(("a", "b")) and plan.size == 6
    assert Plan.from_dict(plan.to_dict()) == plan
    (tmp_path / "bad.toml").write_text(
        MIXED.replace('flavour = ["a", "b"], lr', 'flavour = ["a", "c"], lr')
    )
    with pytest.raises(HpoError, match=r"flavour values \['a', 'c'\] outside its choices"):
        plan_from_toml(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text(MIXED.replace('choices = ["a", "b"]', "choices = []"))
    with pytest.raises(HpoError, match="choices must be a non-empty list"):
        plan_from_toml(tmp_path / "empty.toml")


def test_toml_plan_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text(
        'name = "two"\n[[stage]]\ngrid = { lr = [1e-4, 3e-4] }\nfixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }\n'
        '[[stage]]\ngrid = { sigma = [0.3, 0.5] }\ninherit = ["lr"]\nfixed = { weight_decay = 1e-4, k = 8, box_weight = 5 }\n'
    )
    plan = resolve_plan(str(good))
    assert plan.name == "two" and plan.size == 4
    cases = {
        "name = [\n": "not valid TOML",
        '[[stage]]\ngrid = { lr = ["fast"] }\nfixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }\n': "lr values must be numbers",
        "[[stage]]\ngrid = { lr = [1e-4] }\n": "must name each of",
        "[[stage]]\ngrid = { lr = [5.0] }\nfixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }\n": "outside its range",
        '[[stage]]\ngrid = { lr = [1e-4] }\ninherit = ["sigma"]\nfixed = { weight_decay = 1e-4, k = 8, box_weight = 5 }\n': "nothing to inherit",
    }
    for text, fragment in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(HpoError, match=fragment):
            resolve_plan(str(bad))
    with pytest.raises(HpoError, match="unknown plan 'grid'"):
        resolve_plan("grid")
