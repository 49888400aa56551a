"""bench.outlook's staged side: the staged plan with repeats, run on a recorded table."""

from spacehpo.bench.outlook import staged_from_table

from tests.hpo.replay_tables import synthetic_table


def test_the_staged_plan_on_a_table_follows_the_scores() -> None:
    """Without noise the staged path ends at the fake score's peak (tests/hpo/fakes.py)."""
    params, cls, centre = staged_from_table(synthetic_table(noise=0.0))
    assert params == {"lr": 3e-4, "weight_decay": 1e-5, "sigma": 0.7, "k": 6.0, "box_weight": 8.0}
    assert cls[1] == 0.0 and centre[0] > 0.5  # three identical repeats, centre recorded


def test_repeats_enter_the_staged_means() -> None:
    _, cls, _ = staged_from_table(synthetic_table(noise=0.05))
    assert cls[1] > 0  # the spread over the table's three repeats
