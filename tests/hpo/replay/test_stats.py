"""Replay statistics over seeds, because the verdict (cost, top-1, regret, the noise) must not
depend on how many processes computed it, and must measure the noise the table holds."""

import pytest
from spacehpo.hpo.replay.stats import replay, truth_of

from tests.hpo.replay_tables import synthetic_table


def test_summaries_over_seeds_do_not_depend_on_the_number_of_processes() -> None:
    table = synthetic_table(repeats=3, noise=0.01)
    one = replay(table, ["staged", "full", "random:10"], 6, jobs=1)
    two = replay(table, ["staged", "full", "random:10"], 6, jobs=2)
    assert one == two
    staged, full, _ = one
    assert full.cost == 1.0 and staged.cost == pytest.approx(22 / 108)
    assert 0 <= staged.top1 <= staged.top5 <= 1 and staged.regret_low <= staged.regret_high
    truth = truth_of(table)
    assert truth.noise == pytest.approx(0.01, rel=0.3)
    assert full.band.epochs[-1] == 432 and full.band.median[-1] == full.regret_median
