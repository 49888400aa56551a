"""`spacehpo export | dashboard | compare`: what users do with finished trials."""

from __future__ import annotations

import argparse
from pathlib import Path

from spacehpo.cli.flags import storage_flag
from spacehpo.cli.tables import table
from spacehpo.hpo.record import best_metrics_of
from spacehpo.hpo.study import load
from spacehpo.model.metrics import CLASS_ACC
from spacehpo.storage.backends import open_storage


def _export(args: argparse.Namespace) -> None:
    from spacehpo.hpo.export import export_trial

    with open_storage(args.storage) as handle:
        study, spec = load(handle, args.name)
        trial = export_trial(study, spec, args.trial, args.out, args.artifacts)
    class_acc = best_metrics_of(trial).get(CLASS_ACC, float("nan"))
    pictures = ", pictures" if (args.out / "confusion.png").exists() else ""
    print(
        f"exported trial {trial.number} of {args.name!r} (class_acc {class_acc:.4f}) to "
        f"{args.out}: model.pt, config.json{pictures}"
    )
    print(f"  spacehpo predict --checkpoint {args.out / 'model.pt'} --images IMAGES --out OUT")


def _dashboard(args: argparse.Namespace) -> None:
    from spacehpo.hpo.dashboard import serve

    with open_storage(args.storage) as handle:
        serve(handle, args.host, args.port, args.artifacts)


def render_comparison(rows: list[dict], html: Path, csv: Path) -> str:
    return f"{table([list(r.values()) for r in rows], list(rows[0]))}\n\nreport {html}; all trials {csv}"


def _compare(args: argparse.Namespace) -> None:
    from spacehpo.hpo.compare import compare

    with open_storage(args.storage) as handle:
        result = compare([load(handle, name) for name in args.names], args.out)
    print(render_comparison(result.rows, result.html, result.csv))


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="a trial's best checkpoint, config and pictures")
    p.add_argument("name", help="study name")
    p.add_argument("--trial", type=int, help="trial number (default: the best trial)")
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    p.add_argument("--artifacts", help="this host's path to the study's artifact store")
    storage_flag(p)
    p.set_defaults(func=_export)
    p = sub.add_parser("dashboard", help="serve optuna-dashboard with the studies' artifacts")
    storage_flag(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--artifacts", help="artifact store (default: the one the studies recorded)")
    p.set_defaults(func=_dashboard)
    p = sub.add_parser("compare", help="compare studies (staged, full grid, TPE) in one report")
    p.add_argument("names", nargs="+", help="studies on the same data")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("compare.html"),
        help="HTML report (a .csv of all trials is written beside it)",
    )
    storage_flag(p)
    p.set_defaults(func=_compare)
