"""The pure pieces: no storage, no processes, no torch.

- space: the search space and how Optuna records each parameter.
- plans: search plans as data and `progress()`, which says what a study runs next.
- named_plans: `--plan NAME` (staged, full, outlook or a TOML file).
- plan_toml: plans from TOML files.
- ranking: how trials and configurations rank, and when two can be told apart.
- record: every attribute spacehpo keeps on a trial, named and read here.
- trial_writer: writes one running trial's record.
- curves: a trial's per-epoch validation curves.
- pruning: pruning on class and centre accuracy.
- sampler: `StagedGridSampler`, the plans for plain Optuna users.
- errors: `HpoError`, a setting the user can fix.
"""
