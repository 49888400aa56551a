"""Runs one parsed command and turns the errors a user can cause (one exception type per layer)
into one line and exit code 2; a faulty host gets its own exit code."""

from __future__ import annotations

import argparse
import sys
import warnings

import optuna
from spacehpo.data.errors import DataError
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.faults import EXIT_FAULTY_HOST, FaultyHost
from spacehpo.model.errors import ModelError
from spacehpo.storage.backends import resolve_url
from spacehpo.storage.errors import StorageError
from spacehpo.storage.urls import scrub

USER_ERRORS: tuple[type[Exception], ...] = (DataError, ModelError, HpoError, StorageError)


def fail(message: str, code: int, args: argparse.Namespace) -> None:
    """Passwords never reach the terminal: URLs are redacted and the bare password replaced."""
    print(
        f"spacehpo: error: {scrub(message, resolve_url(getattr(args, 'storage', None)))}",
        file=sys.stderr,
    )
    raise SystemExit(code)


def run(args: argparse.Namespace) -> None:
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
