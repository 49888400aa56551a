"""`spacehpo export | dashboard | compare`: what users do with finished trials."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from spacehpo.cli.flags import storage_flag
from spacehpo.cli.output import TABLE, Output, format_flag, show
from spacehpo.cli.tables import table
from spacehpo.hpo.core.record import best_metrics_of
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.reports.dashboard_options import (
    BUILTIN,
    DEFAULT_GUNICORN_WORKERS,
    GUNICORN,
    DashboardOptions,
)
from spacehpo.model.metrics import CLASS_ACC
from spacehpo.storage.backends import STORAGE_ENV, open_storage, resolve_url
from spacehpo.storage.urls import password_of

if TYPE_CHECKING:
    from spacehpo.hpo.reports.compare import Comparison


def _export(args: argparse.Namespace) -> None:
    from spacehpo.hpo.reports.export import export_trial
    from spacehpo.model.deploy import FILES, ONNX, PT, check_format

    check_format(args.format)  # before the storage: a typo costs nothing
    with open_storage(args.storage) as handle:
        study, spec = load(handle, args.name)
        trial = export_trial(study, spec, args.trial, args.out, args.artifacts, args.format)
    class_acc = best_metrics_of(trial).get(CLASS_ACC, float("nan"))
    files = [FILES[PT]] + ([FILES[args.format]] if args.format != PT else []) + ["config.json"]
    pictures = ", pictures" if (args.out / "confusion.png").exists() else ""
    print(
        f"exported trial {trial.number} of {args.name!r} (class_acc {class_acc:.4f}) to "
        f"{args.out}: {', '.join(files)}{pictures}"
    )
    runnable = FILES[ONNX] if args.format == ONNX else FILES[PT]  # what predict reads
    print(f"  spacehpo predict --checkpoint {args.out / runnable} --images IMAGES --out OUT")


def dashboard_options_from_args(args: argparse.Namespace) -> DashboardOptions:
    """The one place `spacehpo dashboard` flags become options (they check themselves)."""
    workers = args.workers
    if workers is None:
        workers = DEFAULT_GUNICORN_WORKERS if args.server == GUNICORN else 1
    return DashboardOptions(args.server, args.host, args.port, workers, args.artifacts)


def dashboard_flags(options: DashboardOptions) -> list[str]:
    flags = ["--server", options.server, "--workers", str(options.workers)]
    flags += ["--host", options.host, "--port", str(options.port)]
    return flags + (["--artifacts", options.artifacts] if options.artifacts else [])


def _restart_without_password_in_argv(url: str, options: DashboardOptions) -> NoReturn:
    """A dashboard runs for days and `ps` shows its command line to every user of the host, while
    its environment is private to its owner: the same command restarts in this process (same
    pid) with the URL moved to the environment."""
    argv = [sys.executable, "-m", "spacehpo.cli", "dashboard", *dashboard_flags(options)]
    os.execve(sys.executable, argv, {**os.environ, STORAGE_ENV: url})


def _dashboard(args: argparse.Namespace) -> None:
    options = dashboard_options_from_args(args)
    if args.storage and password_of(args.storage):
        _restart_without_password_in_argv(args.storage, options)
    from spacehpo.hpo.reports.dashboard import serve  # optuna-dashboard: only for this command

    serve(resolve_url(args.storage), options)


def comparison_files(html: Path, csv: Path) -> str:
    return f"report {html}; all trials {csv}"


def render_comparison(result: Comparison) -> str:
    text = table([list(r.values()) for r in result.rows], list(result.rows[0]))
    verdicts = "".join(f"\n{line}" for line in result.verdicts)
    return f"{text}\n{verdicts}\n\n{comparison_files(result.html, result.csv)}"


def _compare(args: argparse.Namespace) -> None:
    """Scripts read stdout as data only, so outside the table the files' line goes to stderr."""
    from spacehpo.hpo.reports.compare import compare

    with open_storage(args.storage) as handle:
        result = compare([load(handle, name) for name in args.names], args.out)
    values = [list(r.values()) for r in result.rows]
    text = render_comparison(result)
    show(Output(result.rows, values, text), args.format)
    if args.format != TABLE:
        print(
            "\n".join([*result.verdicts, comparison_files(result.html, result.csv)]),
            file=sys.stderr,
        )


def _export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="study name")
    p.add_argument("--trial", type=int, help="trial number (default: the best trial)")
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    p.add_argument("--artifacts", help="this host's path to the study's artifact store")
    p.add_argument(
        "--format",
        default="pt",
        help="pt (default: model.pt, config.json, pictures), onnx (adds model.onnx) or "
        "torchscript (adds model.ts)",
    )
    storage_flag(p)
    p.set_defaults(func=_export)


def _dashboard_flags(p: argparse.ArgumentParser) -> None:
    storage_flag(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--artifacts", help="artifact store (default: the one the studies recorded)")
    p.add_argument(
        "--server",
        default=BUILTIN,
        help=f"{BUILTIN} (optuna-dashboard's own, one process) or {GUNICORN} (for a team; "
        f"default {BUILTIN})",
    )
    p.add_argument(
        "--workers",
        type=int,
        help=f"gunicorn worker processes (default {DEFAULT_GUNICORN_WORKERS})",
    )
    p.set_defaults(func=_dashboard)


def _compare_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", help="studies on the same data")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("compare.html"),
        help="HTML report (a .csv of all trials is written beside it)",
    )
    format_flag(p)
    storage_flag(p)
    p.set_defaults(func=_compare)


COMMAND_FLAGS = {"export": _export_flags, "dashboard": _dashboard_flags, "compare": _compare_flags}


def add_command(name: str, parser: argparse.ArgumentParser) -> None:
    COMMAND_FLAGS[name](parser)
