"""What `spacehpo replay` says, on a real replay of a synthetic table, because a person reads the
verdict from these rows and lines: they must name the right plans, costs and best configuration."""

import pytest
import spacehpo.hpo.replay.report as report
from spacehpo.hpo.core.plans import full_plan, staged_plan
from spacehpo.hpo.replay.stats import PlanSummary, Truth, replay, truth_of
from spacehpo.hpo.replay.table import Table

from tests.hpo.replay_tables import synthetic_table

PLANS = ["staged", "full", "random:10"]


@pytest.fixture(scope="module")
def replayed() -> tuple[list[PlanSummary], Truth, Table]:
    """Four seeds per plan over 108 configurations x 3 repeats x 4 epochs, noise 0.01."""
    table = synthetic_table(repeats=3, epochs=4, noise=0.01)
    return replay(table, PLANS, 4), truth_of(table), table


def test_one_row_per_plan_worded_for_the_table(replayed) -> None:
    summaries, _, table = replayed
    rows = report.summary_rows(summaries)
    assert [row[0] for row in rows] == PLANS
    assert all(len(row) == len(report.HEADERS) for row in rows)
    staged, full, random = rows
    # epochs spent: every point of the plan trains every epoch (no pruner here)
    assert staged[1] == staged_plan().size * table.epochs == 88
    assert full[1] == full_plan().size * table.epochs == 432 and random[1] == 10 * table.epochs
    assert (staged[2], full[2], random[2]) == ("20%", "100%", "9%")  # 88/432, 432/432, 40/432
    for row, s in zip(rows, summaries, strict=True):
        low, high = row[6].split("..")
        assert float(low) <= float(row[5]) <= float(high)  # the median inside its 5-95% range
        assert row[9] == ("-" if s.cost_to_noise is None else round(s.cost_to_noise))
        assert all(cell.endswith("%") for cell in row[2:5] + row[7:9])


def test_the_noise_lines_name_the_best_the_noise_and_each_plans_pick(replayed) -> None:
    summaries, truth, table = replayed
    lines = report.noise_lines(summaries, truth, table)
    # the fake's score peaks at lr 3e-4, weight decay 1e-5, sigma 0.7, k 6, box weight 8
    peak = "lr=0.0003 weight_decay=1e-05 sigma=0.7 k=6 box_weight=8"
    assert lines[0].startswith(f"best by mean over 3 repeat(s): {peak}: class_acc ")
    assert f"noise = {truth.noise:.4f}, the repeat-to-repeat" in lines[1]
    assert truth.noise == pytest.approx(0.01, rel=0.3)
    assert [line.split(" ", 1)[0] for line in lines[2:5]] == PLANS
    assert all("(its most frequent pick): " in line for line in lines[2:5])
    assert lines[5].startswith("the staged and full winners")  # the question users bring
    assert len(lines) == 6
    without_full = [s for s in summaries if s.plan != "full"]
    assert len(report.noise_lines(without_full, truth, table)) == 4  # no staged-vs-full line


def test_with_one_repeat_the_noise_is_unknown() -> None:
    table = synthetic_table(repeats=1, epochs=2)
    summaries = replay(table, ["staged"], 2)
    lines = report.noise_lines(summaries, truth_of(table), table)
    assert lines[0].startswith("best by mean over 1 repeat(s): ")
    assert "unknown with one repeat, so only the best itself counts" in lines[1]


def test_the_cheapest_line_names_the_cheapest_reliable_plan_or_none(replayed) -> None:
    summaries, _, _ = replayed
    reliable = [s for s in summaries if s.within_noise >= 0.9]
    assert reliable, "the staged plan on this table should reach the noise in most seeds"
    cheapest = min(reliable, key=lambda s: s.epochs)
    line = report.cheapest_line(summaries)
    assert line.startswith("cheapest plan within the noise of the best in >= 90% of seeds: ")
    assert line.endswith(
        f"{cheapest.plan}, at {100 * cheapest.cost:.0f}% of the full grid's epochs"
    )
    unreliable = [s for s in summaries if s.within_noise < 0.9]
    assert unreliable, "a 10-trial random search should miss the noise in some seeds"
    assert report.cheapest_line(unreliable) == (
        "no plan came within the noise of the best in 90% of seeds"
    )
