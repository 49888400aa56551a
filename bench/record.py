"""Record one full grid with repeats on synthetic data: the table `spacehpo replay` reads.

Every configuration of the full grid runs `--repeats` times (seed + repeat), unpruned, with the
real detector and real workers; the table keeps every epoch's validation metrics, and its header
the command, the sizes and the wall time, so `bench.search` and the README can quote it.

    python -m spacehpo.bench.record --table bench/tables/full-128px.csv [--size 128] [--n-train 80]
        [--n-val 48] [--epochs 3] [--repeats 3] [--devices cpu:2] [--out DIR]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import optuna
from spacehpo.bench.common import header
from spacehpo.cli.demo import DemoScale, prepare_study, run_workers, synthetic_data
from spacehpo.hpo.core.plans import full_plan
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.replay.table import table_from_study, write_table
from spacehpo.hpo.reports.compare import cost_of
from spacehpo.storage.backends import open_storage

NAME = "record"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True, help="the CSV to write")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=80)
    parser.add_argument("--n-val", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", default="cpu:2")
    parser.add_argument(
        "--out", type=Path, help="keep the study here (default: a temporary folder)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-record-"))
    storage = f"journal:{work / 'journal.log'}"
    scale = DemoScale(args.size, args.n_train, args.n_val, args.epochs)
    start = time.perf_counter()
    data = synthetic_data(work, scale)
    prepare_study(
        storage, data, NAME, full_plan(), scale, work / "artifacts", "none", repeats=args.repeats
    )
    run_workers(NAME, storage, args.devices)
    wall = time.perf_counter() - start
    with open_storage(storage) as handle:
        study, spec = load(handle, NAME)
        cost = cost_of(study, spec)
        notes = (
            f"# command: python -m spacehpo.bench.record {shlex.join(sys.argv[1:] if argv is None else argv)}",
            f"# sizes: {args.size} px, {args.n_train} train / {args.n_val} val synthetic images, "
            f"{args.epochs} epochs, {args.repeats} repeats, {args.devices}",
            f"# wall: {wall:.0f} s; trials' device time {cost.device_hours * 3600:.0f} s",
            *(f"# {line}" for line in header("record").splitlines()[1:]),
        )
        table = replace(table_from_study(study, spec), notes=notes)
    args.table.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, args.table)
    print(f"{len(table.configs)} configurations x {table.repeats} repeats x {table.epochs} epochs "
          f"in {wall:.0f} s -> {args.table}")  # fmt: skip


if __name__ == "__main__":
    main()
