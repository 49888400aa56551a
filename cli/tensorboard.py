"""`spacehpo tensorboard STUDY`: TensorBoard on the study's runs (one per plan point), on
127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from spacehpo.cli.flags import storage_flag
from spacehpo.storage.backends import open_storage


def tensorboard_command(logdir: str, host: str, port: int) -> list[str]:
    beside = Path(sys.executable).parent / "tensorboard"  # this installation's own
    program = [str(beside)] if beside.exists() else [sys.executable, "-m", "tensorboard.main"]
    return [*program, "--logdir", logdir, "--host", host, "--port", str(port)]


def _tensorboard(args: argparse.Namespace) -> None:
    from spacehpo.hpo.engine.study import load

    with open_storage(args.storage) as handle:
        spec = load(handle, args.name)[1]
    logdir = spec.tensorboard_dir(args.name, args.root)
    command = tensorboard_command(logdir, args.host, args.port)
    if args.print:
        print(shlex.join(command))
        return
    print(
        f"TensorBoard for study {args.name!r} on http://{args.host}:{args.port}/ ({logdir}); "
        "Ctrl-C stops it",
        flush=True,
    )
    os.execv(command[0], command)  # TensorBoard's own process, its own Ctrl-C


def add_command(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="study name")
    storage_flag(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine)"
    )
    p.add_argument("--port", type=int, default=6006, help="port (default 6006)")
    p.add_argument("--root", help="this host's path to the study's TensorBoard root")
    p.add_argument("--print", action="store_true", help="print the command instead")
    p.set_defaults(func=_tensorboard)
