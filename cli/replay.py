"""`spacehpo replay`: simulate search plans on a full grid's recorded curves, over many seeds,
to choose a plan and a budget before spending them (`hpo/replay/simulate.py`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from spacehpo.cli.flags import storage_flag
from spacehpo.cli.output import TABLE, Output, format_flag, show
from spacehpo.cli.tables import table
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.launch.host import usable_cores
from spacehpo.hpo.replay.table import Table, export_table, read_table, table_from_study
from spacehpo.storage.backends import open_storage

DEFAULT_PLANS = "staged,staged+tpe:10,full,full+hyperband,random:22,tpe:22"


def is_table(source: str) -> bool:
    """A path ending in .csv that exists is a table; anything else names a study."""
    return source.endswith(".csv") and Path(source).is_file()


def load_table(source: str, storage: str | None) -> Table:
    if is_table(source):
        return read_table(Path(source))
    if source.endswith(".csv"):
        raise HpoError(f"{source}: neither a table file (none there) nor a study of that name")
    with open_storage(storage) as handle:
        return table_from_study(*load(handle, source))


def _export(args: argparse.Namespace) -> None:
    name, path = args.export_table
    with open_storage(args.storage) as handle:
        recorded = export_table(*load(handle, name), Path(path))
    print(
        f"table {path}: {len(recorded.configs)} configurations x {recorded.repeats} repeats x "
        f"{recorded.epochs} epochs of study {name!r}"
    )


def _progress(start: float) -> Callable[[str, int], None] | None:
    """One line per plan on stderr, for people watching a terminal; scripts get none."""
    if not sys.stderr.isatty():
        return None
    return lambda plan, seeds: print(
        f"replay: {plan} done ({seeds} seeds, {time.perf_counter() - start:.1f} s)",
        file=sys.stderr,
    )


def _replay(args: argparse.Namespace) -> None:
    """Scripts read stdout as data only, so outside the table the words go to stderr."""
    from spacehpo.hpo.replay import report
    from spacehpo.hpo.replay.stats import replay, truth_of

    if args.export_table:
        if args.source:
            raise HpoError("--export-table STUDY CSV takes no other study or table")
        return _export(args)
    if not args.source:
        raise HpoError("name a finished full-grid study or a replay table (.csv)")
    if args.seeds < 1:
        raise HpoError(f"--seeds {args.seeds}: must be at least 1")
    if args.jobs < 1:
        raise HpoError(f"--jobs {args.jobs}: must be at least 1")
    plans = [p.strip() for p in args.plans.split(",") if p.strip()]
    if not plans:
        raise HpoError("--plans: name at least one plan")
    recorded = load_table(args.source, args.storage)
    summaries = replay(recorded, plans, args.seeds, _progress(time.perf_counter()), args.jobs)
    truth = truth_of(recorded)
    html = report.write_html(summaries, truth, recorded, Path(args.out))
    rows = report.summary_rows(summaries)
    words = [*report.noise_lines(summaries, truth, recorded), report.cheapest_line(summaries)]
    text = "\n".join([table(rows, report.HEADERS), "", *words, "", f"report {html}"])
    show(Output(report.summary_data(summaries, truth, recorded), rows, text), args.format)
    if args.format != TABLE:
        print("\n".join([*words, f"report {html}"]), file=sys.stderr)


def add_command(name: str, p: argparse.ArgumentParser) -> None:
    p.description = (
        "Replays each plan on the recorded per-epoch curves of a finished full-grid study (or a "
        "table exported from one) with the real plan progression, pruners and TPE; each "
        "simulated trial draws one recorded repeat, so noise enters every plan."
    )
    p.add_argument(
        "source", nargs="?", help="a finished full-grid study, or a replay table file (.csv)"
    )
    p.add_argument(
        "--plans",
        default=DEFAULT_PLANS,
        help=f"comma-separated: staged, full, outlook, a .toml plan, random:N or tpe:N, each "
        f"optionally +median, +percentile:P or +hyperband and, after a grid, +tpe:N "
        f"(default {DEFAULT_PLANS})",
    )
    p.add_argument("--seeds", type=int, default=50, help="simulated runs per plan (default 50)")
    p.add_argument(
        "--jobs",
        type=int,
        default=usable_cores(),
        help="processes that share the simulated runs (default: the cores this process may "
        f"use, {usable_cores()} here); the result does not depend on it",
    )
    p.add_argument(
        "--out", default="replay.html", help="the HTML report to write (default replay.html)"
    )
    p.add_argument(
        "--export-table",
        nargs=2,
        metavar=("STUDY", "CSV"),
        help="write the study's recorded curves to a table file instead of replaying",
    )
    format_flag(p)
    storage_flag(p)
    p.set_defaults(func=_replay)
