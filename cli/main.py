"""The `spacehpo` command: builds the parser from the command groups, runs one command, and turns
the errors a user can cause (one exception type per layer) into one line and exit code 2."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from spacehpo.cli import data, demo, model, replay, slurm, study, tensorboard, user, worker
from spacehpo.data.errors import DataError
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.faults import EXIT_FAULTY_HOST, FaultyHost
from spacehpo.model.errors import ModelError
from spacehpo.storage.backends import resolve_url
from spacehpo.storage.errors import StorageError
from spacehpo.storage.urls import scrub

USER_ERRORS: tuple[type[Exception], ...] = (DataError, ModelError, HpoError, StorageError)
COMMAND_GROUPS = (data, model, study, worker, slurm, user, replay, tensorboard, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spacehpo", description="Hyperparameter optimisation for the SPARK detector."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def fail(message: str, code: int, args: argparse.Namespace) -> None:
    """Passwords never reach the terminal: URLs are redacted and the bare password replaced."""
    print(
        f"spacehpo: error: {scrub(message, resolve_url(getattr(args, 'storage', None)))}",
        file=sys.stderr,
    )
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # spacehpo drives Optuna's heartbeat on purpose; the "experimental" notice is noise to users.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        args.func(args)
    except USER_ERRORS as err:
        fail(str(err), 2, args)
    except FaultyHost as err:
        fail(str(err), EXIT_FAULTY_HOST, args)
    except KeyboardInterrupt:
        print("spacehpo: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
