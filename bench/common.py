"""Shared by the benchmarks: timing, tables, and the header that records where a figure came from."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from importlib.metadata import version

from spacehpo.cli.tables import table

__all__ = ["header", "rate", "table"]


def header(title: str) -> str:
    import torch

    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU x{os.cpu_count()} ({platform.processor() or platform.machine()})"
    )
    return (
        f"# {title}\n{time.strftime('%Y-%m-%d %H:%M')}  {device}  python {platform.python_version()}  "
        f"torch {version('torch')}  optuna {version('optuna')}"
    )


def rate(fn: Callable[[], int], min_seconds: float = 0.0) -> tuple[float, float]:
    """Run `fn` (returns items done) at least once and for `min_seconds`; (items/s, seconds)."""
    start, items = time.perf_counter(), 0
    while True:
        items += fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return items / elapsed, elapsed
