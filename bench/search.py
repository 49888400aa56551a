"""Search cost: on one fixed synthetic dataset, the epochs each plan trains and the best validation
class accuracy it finds: staged (22), full grid (108), full grid with median pruning, and staged +
TPE. The ratio is each plan's cost against the full grid's.

    python -m spacehpo.bench.search [--size 64] [--n-train 165] [--epochs 2] [--tpe 10] [--devices cpu:2] [--out DIR]
    python -m spacehpo.bench.search --table bench/tables/full-128px.csv [--seeds 50]   (replay: bench/replay_figures.py)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import optuna
from spacehpo.bench import replay_figures
from spacehpo.bench.common import header, table
from spacehpo.cli.demo import DemoScale, prepare_study, run_workers, synthetic_data
from spacehpo.hpo.core.plans import full_plan, staged_plan
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.trainable import DETECTOR
from spacehpo.hpo.reports.compare import cost_of, rank_in
from spacehpo.storage.backends import open_storage

COLUMNS = [
    "plan",
    "trials",
    "epochs",
    "cost vs full",
    "best class_acc",
    "gap to full best",
    "winner's rank in full",
    "device-s",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-train", type=int, default=165)
    parser.add_argument("--n-val", type=int, default=66)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tpe", type=int, default=10)
    parser.add_argument("--devices", default="cpu:2")
    parser.add_argument("--trainable", default=DETECTOR)
    parser.add_argument(
        "--out", type=Path, help="keep the studies here (default: a temporary folder)"
    )
    parser.add_argument(
        "--table", type=Path, help="instead: replay the plans on a recorded table (bench.record)"
    )
    parser.add_argument("--seeds", type=int, default=50, help="with --table: replay seeds")
    parser.add_argument("--html", help="with --table: also write the regret plot here")
    parser.add_argument("--png", help="with --table: the README's regret picture")
    return parser


def _run_studies(args: argparse.Namespace, work: Path, storage: str) -> list[str]:
    """The full grid, the staged plan, the pruned full grid and staged + TPE, one after another."""
    scale = DemoScale(args.size, args.n_train, args.n_val, args.epochs)
    data = synthetic_data(work, scale)
    runs = [
        ("full", full_plan(), "none", 0),
        ("staged", staged_plan(), "none", 0),
        ("full-pruned", full_plan(), "median", 0),
        ("staged-tpe", staged_plan(), "none", args.tpe),
    ]
    for name, plan, pruner, tpe in runs:
        prepare_study(
            storage, data, name, plan, scale, work / "artifacts", pruner, args.trainable, tpe
        )
        run_workers(name, storage, args.devices)
    return [name for name, *_ in runs]


def _rows(costs: dict, full_trials: list) -> list[list[str]]:
    full = costs["full"]
    rows = []
    for name, c in costs.items():
        best = c.best.value if c.best else float("nan")
        rank = rank_in(c.best, full_trials, c.objective) if c.best else None
        rows.append(
            [
                name,
                str(c.trials),
                str(c.epochs),
                f"{c.epochs / full.epochs:.3f}",
                f"{best:.4f}",
                f"{full.best.value - best:+.4f}",
                str(rank or "-"),
                f"{c.device_hours * 3600:.0f}",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.table:
        return replay_figures.run(args)
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-search-"))
    storage = f"journal:{work / 'journal.log'}"
    names = _run_studies(args, work, storage)
    with open_storage(storage) as handle:
        loaded = {name: load(handle, name) for name in names}
        costs = {name: cost_of(*loaded[name]) for name in loaded}
        rows = _rows(costs, loaded["full"][0].get_trials(deepcopy=False))
    print(
        header(
            f"search cost, {args.size} px, {args.n_train} train images, {args.epochs} epochs, {args.devices}"
        )
    )
    print(table(rows, COLUMNS))
    staged, full = costs["staged"], costs["full"]
    print(
        f"ratio: staged costs {staged.epochs / full.epochs:.3f} of the full grid and finds "
        f"{staged.best.value:.4f} against the full grid's {full.best.value:.4f}"
    )


if __name__ == "__main__":
    main()
