"""The plans spacehpo ships by name, because `--plan outlook` must resolve to the shipped file and
every point of it must be a detector configuration that trains."""

from spacehpo.hpo.core.space import Choice


def test_the_outlook_plan_is_shipped_and_every_point_trains() -> None:
    """Stage 1 crosses every backbone with every centre head at the report's values; each
    point (stage 2 and 3 with the earlier stages' first choices) is a valid detector config."""
    from spacehpo.hpo.core.named_plans import resolve_plan
    from spacehpo.model.config import TrainConfig

    plan = resolve_plan("outlook")
    assert [s.name for s in plan.stages] == [
        "backbone x centre_head",
        "augment x dropout",
        "freeze_epochs x lr",
    ]
    assert plan.size == 15 + 9 + 6 and isinstance(plan.space["backbone"], Choice)
    inherited: dict = {}
    for stage in plan.stages:
        points = stage.points(inherited)
        for point in points:
            TrainConfig(epochs=15).with_params(point)
        inherited = points[0]
