"""Tuning the detector with Optuna, in rooms whose imports run one way:
core <- engine <- {launch, reports, replay} (checked by the contracts in pyproject.toml).

- core: plans, the search space, ranking and the trial record; pure, no storage.
- engine: what a worker does with a study: claim, train, report, recover.
- launch: worker processes on one host (one per device) and the Slurm recipe.
- reports: status, compare, export, study admin and the dashboard.
- replay: plans replayed on recorded curves, with the engine's own rules.
"""
