"""Plain-text tables for the terminal: every command prints its results through `table`."""

from __future__ import annotations

from typing import Any


def cell(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(rows: list[list[Any]], header: list[str]) -> str:
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *text, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*r) for r in text]
    )
