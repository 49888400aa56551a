"""The `spacehpo` command: a table of commands, each filled in by the cli module that runs it.

Only the module of the command named on the command line is imported, so `spacehpo --help` loads
no Optuna, SQLAlchemy or torch and answers at once; `spacehpo.cli.run` runs the parsed command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Command:
    module: str  # the spacehpo.cli module whose add_command() fills in this command's flags
    help: str


COMMANDS: dict[str, Command] = {
    "data": Command("data", "create, convert and check datasets"),
    "train": Command("model", "train the detector once"),
    "evaluate": Command("model", "metrics, confusion matrix and per-image CSV of a checkpoint"),
    "predict": Command("model", "SPARK submission CSV and overlay pictures for images"),
    "export-model": Command(
        "model", "one run's checkpoint as ONNX or TorchScript, decoding included"
    ),
    "study": Command("study", "create, extend, inspect and delete studies"),
    "worker": Command("worker", "run trials of a study until its plan is done"),
    "slurm": Command("slurm", "run a study's workers on a Slurm cluster"),
    "export": Command("user", "a trial's best checkpoint, config and pictures"),
    "dashboard": Command("user", "serve optuna-dashboard with the studies' artifacts"),
    "compare": Command("user", "compare studies (staged, full grid, TPE) in one report"),
    "replay": Command(
        "replay", "simulate search plans on a full grid's recorded curves, over many seeds"
    ),
    "tensorboard": Command("tensorboard", "serve TensorBoard on a study's runs"),
    "demo": Command(
        "demo", "synthetic data -> staged study with 2 CPU workers -> status -> best trial"
    ),
}


def build_parser(filled: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """Every command is listed; only those in `filled` get their flags (all of them by default)."""
    parser = argparse.ArgumentParser(
        prog="spacehpo", description="Hyperparameter optimisation for the SPARK detector."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    wanted = set(filled)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help)
        if name in wanted:
            import_module(f"spacehpo.cli.{command.module}").add_command(name, p)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    given = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(given[:1]).parse_args(given)
    from spacehpo.cli.run import run  # after parsing: a help or a usage error loads nothing

    run(args)


if __name__ == "__main__":
    main()
